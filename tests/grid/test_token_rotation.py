"""Issue 19 item 2: the ENTSO-E token is read from ENTSOE_API_KEY_FILE at each request, so a
rotated Secret (Argo CD re-rendering it, a Vault agent rewriting it) is used without a restart,
and the old one is never sent again."""

from __future__ import annotations

from gridshift.config import build_config
from gridshift.exporters.grid.app import build_grid_exporter
from tests.conftest import TOKEN
from tests.grid.test_pacing import NOW, FakeTime

NEW_TOKEN = "test-entsoe-token-5f1c2a-rotated"


def test_a_rotated_entsoe_token_file_is_used_without_a_restart(fake_entsoe, tmp_path):
    time = FakeTime(NOW)
    token_file = tmp_path / "entsoe-token"
    token_file.write_text(TOKEN + "\n")
    config = build_config({"grid": {"entsoe": {"zones": ["FI"], "endpoint": fake_entsoe.url}, "max_concurrent_requests": 1,
                                    "forecaster": {"enabled": False}}},
                          env={"ENTSOE_API_KEY_FILE": str(token_file)})
    built = build_grid_exporter(config, clock=time.clock, sleep=time.sleep)
    built.refresher.run_due()
    sent = [params["securityToken"] for params in fake_entsoe.requests]
    assert set(sent) == {TOKEN}

    token_file.write_text(NEW_TOKEN + "\n")  # the Secret rotated; ENTSO-E forgot the old token
    fake_entsoe.token = NEW_TOKEN
    for job in built.refresher.jobs:
        job.next_due = 0.0
    built.refresher.run_due()
    rotated = [params["securityToken"] for params in fake_entsoe.requests][len(sent):]
    assert rotated and set(rotated) == {NEW_TOKEN}  # the old one never again
    errors = built.refresher.instruments.fetch_errors.labels("FI", "entsoe", "unauthorized")._value.get()
    assert errors == 0
