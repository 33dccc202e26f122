"""Issue 19 item 2: the webhook token is read again from its file when the file changes (Argo CD
re-rendering the Secret, a rotation), with no restart; the old token is refused from then on."""

from __future__ import annotations

import logging
import os

from gridshift.secrets import read_secret
from tests.actions.conftest import alert, payload


def test_a_rotated_token_file_is_used_without_a_restart(make_service, tmp_path, caplog) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token-0123456789abcdef\n")
    service = make_service(env={"GRIDSHIFT_WEBHOOK_TOKEN_FILE": str(token_file)})
    body = payload(alert("DE_LU", "high"))
    assert service.post(body, headers={"Authorization": "Bearer first-token-0123456789abcdef"}).status_code == 200
    # as the kubelet updates a Secret volume: a new file swapped in
    replacement = tmp_path / "token.new"
    replacement.write_text("second-token-fedcba9876543210\n")
    os.replace(replacement, token_file)
    with caplog.at_level(logging.INFO, logger="gridshift.secrets"):
        refused = service.post(body, headers={"Authorization": "Bearer first-token-0123456789abcdef"})
    assert refused.status_code == 401
    assert service.post(body, headers={"Authorization": "Bearer second-token-fedcba9876543210"}).status_code == 200
    assert any("changed: the new value is in use" in r.getMessage() for r in caplog.records)
    assert not any("token-" in r.getMessage() for r in caplog.records)  # never the value


def test_an_emptied_token_file_keeps_the_last_token(tmp_path, caplog) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("kept-token-0123456789abcdef")
    secret = read_secret("GRIDSHIFT_WEBHOOK_TOKEN", {"GRIDSHIFT_WEBHOOK_TOKEN_FILE": str(token_file)})
    assert secret is not None and secret.value == "kept-token-0123456789abcdef"
    token_file.write_text("")
    with caplog.at_level(logging.WARNING, logger="gridshift.secrets"):
        assert secret.value == "kept-token-0123456789abcdef"
    assert any("the file is empty" in r.getMessage() and "last value" in r.getMessage() for r in caplog.records)
    token_file.unlink()
    assert secret.value == "kept-token-0123456789abcdef"
    assert repr(secret) == "Secret(***)"
