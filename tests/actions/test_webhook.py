"""The action service's HTTP API (CONTRACT.md "Action service HTTP API").

Covers:
- bearer token: missing, wrong, wrong scheme -> 401 JSON; right token -> 200;
- no token configured: refuses to start (InsecureRefused) unless insecure, then accepts unauthenticated;
- body limits and validation: too large (Content-Length and chunked) 413, wrong content type 415,
  not JSON 400, wrong payload version 400;
- hostile bodies (deep nesting, huge label values, non-string labels, alerts not a list, 10,001
  alerts, invalid UTF-8, broken alerts): a JSON 4xx, the alert book stays empty, and a reconcile pass
  afterwards changes nothing in the cluster (a valid actionable alert rides along in each body);
- alerts without zone or level (and unknown levels) are acknowledged with 200 and ignored;
- GET /api/v1/decisions: newest first, `limit`, `namespace` filter, a bad limit -> 400;
- GET /metrics: gridshift_webhook_requests_total{code}; /healthz; /readyz 503 until a pass has succeeded,
  then 200 (a later failing pass shows in it);
- one test through a real HTTP server (gridshift.web.Server + requests) with the reconcile loop running.
"""

from __future__ import annotations

import io
import json
import time

import pytest
import requests

from gridshift.actions.app import InsecureRefused
from gridshift.web import Server
from tests.actions.conftest import AUTH, TOKEN, alert, payload

WEBHOOKS = "gridshift_webhook_requests_total"


@pytest.fixture
def opted(cluster):
    """An opted-in namespace with a Deployment that any accepted DE_LU alert would pause."""
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=3)
    return cluster


def assert_nothing_changed(service, cluster) -> None:
    assert service.service.book.active() == []
    service.reconcile()
    assert cluster.patches() == []
    assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == 3
    assert cluster.events() == []


def assert_json_error(response, status: int) -> None:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body.get("error"), str) and body["error"]


# --- authentication ---------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-the-token"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer ünïcödé-tökën"},
], ids=["missing", "wrong", "longer", "shorter", "basic-scheme", "no-scheme", "empty", "non-ascii"])
def test_wrong_or_missing_token_is_401_and_changes_nothing(service, opted, headers):
    response = service.post(payload(alert()), headers=headers)
    assert_json_error(response, 401)
    assert TOKEN not in response.get_data(as_text=True)  # a secret is never echoed
    assert service.metric(WEBHOOKS, code="401") == 1
    assert_nothing_changed(service, opted)


def test_right_token_is_accepted(service, opted):
    response = service.post(payload(alert()))
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 1, "ignored": 0, "changed_zones": ["DE_LU"]}
    service.reconcile()
    assert opted.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0


def test_scheme_is_case_insensitive(service, opted):
    assert service.post(payload(alert()), headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200


def test_refuses_to_start_without_a_token(make_service):
    with pytest.raises(InsecureRefused, match="GRIDSHIFT_WEBHOOK_TOKEN"):
        make_service(env={})


def test_insecure_starts_without_a_token_and_accepts_unauthenticated_webhooks(make_service, opted):
    service = make_service(env={}, insecure=True)
    assert service.post(payload(alert()), headers={}).status_code == 200
    service.reconcile()
    assert opted.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0


def test_token_from_a_file(make_service, opted, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("file-token-91ab\n")
    service = make_service(env={"GRIDSHIFT_WEBHOOK_TOKEN_FILE": str(secret)})
    assert service.post(payload(alert()), headers={"Authorization": "Bearer file-token-91ab"}).status_code == 200
    assert service.post(payload(alert()), headers=AUTH).status_code == 401


# --- limits and validation --------------------------------------------------------------------

def test_body_too_large_is_413(make_service, opted):
    service = make_service({"max_body_bytes": 4096})
    body = payload(alert(), *[alert(zone=f"Z{i}", level="high") for i in range(40)])
    assert len(json.dumps(body)) > 4096
    assert_json_error(service.post(body), 413)
    assert service.metric(WEBHOOKS, code="413") == 1
    assert_nothing_changed(service, opted)


def test_body_too_large_without_content_length_is_413(make_service, opted):
    """A chunked body (no Content-Length) is measured too."""
    service = make_service({"max_body_bytes": 4096})
    body = json.dumps(payload(alert(), *[alert(zone=f"Z{i}") for i in range(60)])).encode()
    response = service.client.post("/api/v1/alerts", headers={**AUTH, "Content-Type": "application/json"},
                                   input_stream=io.BytesIO(body))
    assert_json_error(response, 413)
    assert_nothing_changed(service, opted)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None])
def test_wrong_content_type_is_415(service, opted, content_type):
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    response = service.post(None, headers=headers, data=json.dumps(payload(alert())))
    assert_json_error(response, 415)
    assert_nothing_changed(service, opted)


def test_content_type_with_charset_is_accepted(service, opted):
    response = service.post(None, headers={**AUTH, "Content-Type": "application/json; charset=utf-8"},
                            data=json.dumps(payload(alert())))
    assert response.status_code == 200


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"{'version': '4'}", b"\x00\x01\x02"],
                         ids=["empty", "truncated", "text", "python-dict", "binary"])
def test_not_json_is_400(service, opted, body):
    response = service.post(None, headers={**AUTH, "Content-Type": "application/json"}, data=body)
    assert_json_error(response, 400)
    assert service.metric(WEBHOOKS, code="400") == 1
    assert_nothing_changed(service, opted)


@pytest.mark.parametrize("version", ["3", 4, "5", None, "4.0"])
def test_wrong_version_is_400(service, opted, version):
    body = payload(alert())
    if version is None:
        del body["version"]
    else:
        body["version"] = version
    response = service.post(body)
    assert_json_error(response, 400)
    assert "version" in response.get_json()["error"]
    assert_nothing_changed(service, opted)


def _hostile_bodies() -> dict[str, object]:
    good = alert()
    huge = alert(zone="DE_LU", fingerprint="aaaa000011112222")
    huge["labels"]["zone"] = "DE_LU" + "x" * 5000
    non_string = alert(fingerprint="bbbb000011112222")
    non_string["labels"]["replicas"] = 3
    nested_label = alert(fingerprint="cccc000011112222")
    nested_label["labels"]["zone"] = {"nested": ["DE_LU"]}
    null_label = alert(fingerprint="dddd000011112222")
    null_label["labels"]["level"] = None
    long_key = alert(fingerprint="eeee000011112222")
    long_key["labels"]["k" * 2000] = "v"
    no_fingerprint = alert()
    del no_fingerprint["fingerprint"]
    long_fingerprint = alert(fingerprint="f" * 65)
    bad_status = alert(status="pending")
    bad_time = alert(starts_at="yesterday")
    no_start = alert()
    del no_start["startsAt"]
    labels_list = alert()
    labels_list["labels"] = [["zone", "DE_LU"]]
    return {
        "huge-label-value": payload(good, huge),
        "non-string-label": payload(good, non_string),
        "object-label": payload(good, nested_label),
        "null-label": payload(good, null_label),
        "huge-label-key": payload(good, long_key),
        "alerts-not-a-list": {**payload(good), "alerts": {"0": good}},
        "alerts-a-string": {**payload(good), "alerts": "firing"},
        "alerts-null": {**payload(good), "alerts": None},
        "alert-not-an-object": payload(good, ["firing"]),  # type: ignore[arg-type]
        "alert-null": {**payload(good), "alerts": [good, None]},
        "10001-alerts": {**payload(good), "alerts": [good] + [{}] * 10_000},  # small, so the count check answers
        "no-fingerprint": payload(good, no_fingerprint),
        "long-fingerprint": payload(good, long_fingerprint),
        "bad-status": payload(good, bad_status),
        "bad-time": payload(good, bad_time),
        "no-startsAt": payload(good, no_start),
        "labels-a-list": payload(good, labels_list),
        "top-level-list": [payload(good)],
        "top-level-string": "4",
        "top-level-number": 4,
    }


HOSTILE = _hostile_bodies()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_body_is_4xx_json_and_changes_nothing(service, opted, name):
    response = service.post(HOSTILE[name])
    assert_json_error(response, 400)
    assert_nothing_changed(service, opted)


def test_invalid_utf8_is_400_and_changes_nothing(service, opted):
    body = json.dumps(payload(alert())).encode().replace(b'"DE_LU"', b'"DE_\xff\xfe\xc3"')
    response = service.post(None, headers={**AUTH, "Content-Type": "application/json"}, data=body)
    assert_json_error(response, 400)
    assert_nothing_changed(service, opted)


@pytest.mark.parametrize(("opener", "closer"), [("[", "]"), ('{"a":', "}")], ids=["arrays", "objects"])
def test_deeply_nested_json_is_400(service, opted, opener, closer):
    depth = 50_000
    body = '{"version": "4", "alerts": [' + opener * depth + "0" + closer * depth + "]}"
    response = service.post(None, headers={**AUTH, "Content-Type": "application/json"}, data=body.encode())
    assert_json_error(response, 400)
    assert_nothing_changed(service, opted)


def test_unicode_garbage_in_labels_is_acknowledged_and_never_touches_the_cluster(service, opted):
    """Valid JSON full of odd but legal strings: accepted as data, matches no namespace's zone."""
    odd = alert(zone="DE_LU\u202e\u0000\U0001f525", level="high", fingerprint="0123456789abcdef")
    rtl = alert(zone="\u0645\u0646\u0637\u0642\u0629", level="critical", fingerprint="1123456789abcdef")
    response = service.post(payload(odd, rtl))
    assert response.status_code == 200
    service.reconcile()
    assert opted.patches() == []
    assert service.client.get("/metrics").status_code == 200


def test_lone_surrogate_in_a_label_does_not_break_metrics(service, opted):
    body = json.dumps(payload(alert(zone="\ud800", fingerprint="2123456789abcdef"))).encode()
    assert b"\\ud800" in body
    response = service.post(None, headers={**AUTH, "Content-Type": "application/json"}, data=body)
    assert response.status_code in (200, 400)
    service.reconcile()
    assert service.client.get("/metrics").status_code == 200


def test_alerts_without_zone_or_level_are_acknowledged_and_ignored(service, opted):
    stale = alert(zone="DE_LU", level=None, name="GridCarbonDataStale", source="entsoe")
    watchdog = alert(zone=None, level=None, name="Watchdog")
    no_zone = alert(zone=None, level="critical")
    unknown_level = alert(zone="DE_LU", level="medium")
    empty_zone = alert(zone="", level="high")
    response = service.post(payload(stale, watchdog, no_zone, unknown_level, empty_zone))
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 0, "ignored": 5, "changed_zones": []}
    assert_nothing_changed(service, opted)


def test_empty_alert_list_is_acknowledged(service, opted):
    response = service.post(payload())
    assert response.status_code == 200
    assert response.get_json()["accepted"] == 0


# --- decisions, metrics, health ---------------------------------------------------------------

def test_decisions_newest_first_with_limit_and_namespace_filter(service, cluster, clock):
    for namespace in ("team-a", "team-b"):
        cluster.namespace(namespace, {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=3)
    cluster.deployment("team-b", "api", replicas=2)
    firing = alert()
    service.notify(firing)
    service.reconcile()
    clock.advance(600)
    service.notify({**firing, "status": "resolved", "endsAt": "2026-11-25T09:10:00Z"})
    service.reconcile()

    everything = service.decisions()
    assert len(everything) == 4
    assert [d["decision"] for d in everything] == ["restore", "restore", "hold", "hold"]
    assert everything[0]["time"] >= everything[-1]["time"]
    assert all(d["alert"].startswith(firing["fingerprint"] + "@") for d in everything)

    only_b = service.decisions(namespace="team-b")
    assert [(d["namespace"], d["name"], d["decision"]) for d in only_b] == [("team-b", "api", "restore"),
                                                                            ("team-b", "api", "hold")]
    assert only_b[1]["before"] == {"/spec/replicas": 2} and only_b[1]["after"] == {"/spec/replicas": 0}
    assert only_b[1]["reason"].startswith("GridCarbonIntensityHigh level=high in zone DE_LU")
    assert len(service.decisions(limit=1)) == 1
    assert service.decisions(limit=1)[0] == everything[0]
    assert service.decisions(namespace="nobody") == []
    assert_json_error(service.client.get("/api/v1/decisions?limit=many"), 400)


def test_decision_is_a_json_log_line(service, opted, caplog):
    caplog.set_level("INFO", logger="gridshift.decisions")
    firing = alert()
    service.notify(firing)
    service.reconcile()
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "gridshift.decisions"]
    assert len(lines) == 1
    line = lines[0]
    assert line["decision"] == "hold" and line["action"] == "pause" and line["result"] == "applied"
    assert line["namespace"] == "team-a" and line["kind"] == "Deployment" and line["name"] == "web"
    assert line["alert"].startswith(firing["fingerprint"])
    assert line["reason"] and line["before"] == {"/spec/replicas": 3} and line["after"] == {"/spec/replicas": 0}


def test_metrics_count_webhook_requests_by_code(service, opted):
    service.post(payload(alert()))
    service.post(payload(alert()))
    service.post(payload(alert()), headers={})
    service.post({"version": "3", "alerts": []})
    text = service.client.get("/metrics").get_data(as_text=True)
    assert 'gridshift_webhook_requests_total{code="200"} 2.0' in text
    assert 'gridshift_webhook_requests_total{code="401"} 1.0' in text
    assert 'gridshift_webhook_requests_total{code="400"} 1.0' in text
    # the decisions endpoint and probes are not webhook requests
    service.client.get("/api/v1/decisions")
    service.client.get("/healthz")
    assert service.metric(WEBHOOKS, code="200") == 2


def test_health_and_readiness(service, opted):
    assert service.client.get("/healthz").status_code == 200
    before = service.client.get("/readyz")
    assert before.status_code == 503
    assert before.get_json()["ready"] is False and before.get_json()["reconcile_passes"] == 0
    service.reconcile()
    after = service.client.get("/readyz")
    assert after.status_code == 200
    assert after.get_json()["ready"] is True and after.get_json()["dry_run"] is False


def test_readiness_does_not_hinge_on_every_pass(service, opted, k8s):
    """Issue 19 defect 1: readiness was "the last pass succeeded", so one failing pass took the
    pod out of its Service and webhooks stopped. Ready once a pass has succeeded; the error shows."""
    k8s.inject("GET", "v1/nodes", status=503, times=1)
    service.reconcile()
    assert service.client.get("/readyz").status_code == 503  # never a pass yet: not ready
    service.reconcile()
    k8s.inject("GET", "v1/nodes", status=503, times=None)
    service.reconcile()
    response = service.client.get("/readyz")
    assert response.status_code == 200
    assert "503" in response.get_json()["last_error"]
    assert service.metric("gridshift_reconcile_errors_total", stage="read") == 2


# --- a real HTTP server -----------------------------------------------------------------------

def test_through_a_real_http_server_with_the_reconcile_loop(service, opted):
    server = Server(service.service.app, "127.0.0.1", 0, max_body_bytes=service.service.served_body_limit).start()
    base = f"http://127.0.0.1:{server.port}"
    session = requests.Session()
    session.trust_env = False
    try:
        service.reconciler.start()
        deadline = time.monotonic() + 10
        while session.get(f"{base}/readyz", timeout=5).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert session.get(f"{base}/readyz", timeout=5).status_code == 200

        unauthorized = session.post(f"{base}/api/v1/alerts", json=payload(alert()), timeout=5)
        assert unauthorized.status_code == 401 and unauthorized.json()["error"]

        chunked = session.post(f"{base}/api/v1/alerts", headers={**AUTH, "Content-Type": "application/json"},
                               data=iter([b'{"version": "4", ', b'"alerts": ', b"[" + b" " * (3 * 1024 * 1024 // 2) + b"]}"]),
                               timeout=10)
        assert chunked.status_code == 413 and chunked.json()["error"]

        firing = alert()
        response = session.post(f"{base}/api/v1/alerts", json=payload(firing), headers=AUTH, timeout=5)
        assert response.status_code == 200
        deadline = time.monotonic() + 10
        while opted.get("Deployment", "team-a", "web")["spec"]["replicas"] != 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert service.reconciler.wait_idle(10)
        assert opted.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0

        response = session.post(f"{base}/api/v1/alerts", json=payload({**firing, "status": "resolved",
                                                                       "endsAt": "2026-11-25T10:00:00Z"}),
                                headers=AUTH, timeout=5)
        assert response.status_code == 200
        deadline = time.monotonic() + 10
        while opted.get("Deployment", "team-a", "web")["spec"]["replicas"] != 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert service.reconciler.wait_idle(10)
        assert opted.get("Deployment", "team-a", "web")["spec"]["replicas"] == 3
        decisions = session.get(f"{base}/api/v1/decisions", params={"namespace": "team-a"}, timeout=5).json()["decisions"]
        assert [d["decision"] for d in decisions] == ["restore", "hold"]
        metrics = session.get(f"{base}/metrics", timeout=5).text
        assert 'gridshift_webhook_requests_total{code="200"} 2.0' in metrics
        assert 'gridshift_webhook_requests_total{code="413"} 1.0' in metrics
    finally:
        server.stop()
        service.reconciler.stop()
