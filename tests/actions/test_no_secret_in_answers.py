"""Issue 19 item 2: the webhook token is in no answer, metric label, decision or log line, whatever
a caller sends in its place (tests/secret_sweep.py checks everything else the suite captures)."""

from __future__ import annotations

from tests.actions.conftest import TOKEN, alert, payload


def test_no_webhook_token_in_the_action_services_answers_metrics_or_logs(service, caplog):
    attempts = [{"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Basic {TOKEN}"},
                {"Authorization": f"Bearer  {TOKEN}"}, {"Authorization": TOKEN}]
    with caplog.at_level("DEBUG"):
        answers = [service.post(payload(alert()), headers=headers) for headers in attempts]
        assert {answer.status_code for answer in answers} == {401}
        service.notify(alert())
        service.reconcile()
    texts = [answer.get_data(as_text=True) for answer in answers]
    texts += [service.client.get(path).get_data(as_text=True) for path in ("/metrics", "/readyz", "/api/v1/decisions")]
    assert [text for text in [*texts, caplog.text] if TOKEN in text] == []
