"""gridshift's alerts reach the action service through kube-prometheus-stack's stock Alertmanager.

The real `prometheus-alertmanager` runs kube-prometheus-stack's stock configuration (its chart's
own values, fixtures/kps-alertmanager-config.yaml) with the chart's AlertmanagerConfig merged in
as prometheus-operator merges it (tests/alerting/operator.py, default matcher strategy
OnNamespace). Alerts are posted to its API as the rendered PrometheusRule produces them, beside
kube-prometheus-stack's Watchdog and its InfoInhibitor as its general.rules produce them; a local
webhook stands in for the action service.

Aspects: all five grid alerts reach the webhook with the bearer token, and nothing else does; a
grid alert without the chart's `namespace` label (a plain alertmanager/rules.yaml) does not, nor
one from another namespace; GridCarbonIntensityLow alone (a green hour, nothing else firing)
reaches it with `severity: none`, and with `severity: info` the stock InfoInhibitor suppresses
it (so this test fails if the severity goes back); the translation refuses what it cannot
translate.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from gridshift import names
from gridshift.demo.processes import Process, find, free_port
from tests.alerting import operator
from tests.chart.render import NAMESPACE, render

KPS_CONFIG = Path(__file__).with_name("fixtures") / "kps-alertmanager-config.yaml"
TOKEN = "kps-routing-test-token-0123456789"
VALUES = {
    "kubePrometheusStack": {"release": "kube-prometheus-stack"},
    "webhook": {"token": TOKEN},
    "prometheusOperator": {"alertmanagerConfig": {"groupWait": "1s", "groupInterval": "1s"}},
}
GRID_ALERTS = (names.ALERT_HIGH, names.ALERT_CRITICAL, names.ALERT_LOW, names.ALERT_STALE, names.ALERT_WINDOW)
# The labels each rule's expression leaves (`max by (zone)`, `max by (zone, source)`).
EXPRESSION_LABELS = {names.ALERT_HIGH: {"zone": "DE_LU"}, names.ALERT_CRITICAL: {"zone": "DE_LU"},
                     names.ALERT_LOW: {"zone": "FR"}, names.ALERT_STALE: {"zone": "PL", "source": "entsoe"},
                     names.ALERT_WINDOW: {"zone": "NL"}}
WATCHDOG = {"alertname": "Watchdog", "severity": "none"}  # kps general.rules: vector(1)


class Webhook:
    """The action service's stand-in on 127.0.0.1: records each notification's alerts and token."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str]]] = []  # (Authorization header, alert labels)
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                webhook.received += [(self.headers.get("Authorization", ""), a["labels"]) for a in body["alerts"]]
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/alerts"

    def alertnames(self) -> set[str]:
        return {labels["alertname"] for _, labels in self.received}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def merged_config(webhook_url: str, values: Mapping[str, Any] = VALUES) -> dict[str, Any]:
    """kps's stock configuration plus the chart's AlertmanagerConfig, pointed at `webhook_url`."""
    rendered = render(dict(values))
    amconfig = rendered.get("AlertmanagerConfig", "gridshift")
    secrets = {o["metadata"]["name"]: o for o in rendered.of_kind("Secret")}

    def secret(namespace: str, name: str, key: str) -> str:
        assert namespace == secrets[name]["metadata"]["namespace"]
        return base64.b64decode(secrets[name]["data"][key]).decode()

    config = operator.merge(yaml.safe_load(KPS_CONFIG.read_text()), amconfig, secret=secret)
    (receiver,) = [r for r in config["receivers"] if r["name"] == f"{NAMESPACE}/gridshift/gridshift-actions"]
    receiver["webhook_configs"][0]["url"] = webhook_url  # the Service's address, on loopback
    return config


def grid_alerts(values: Mapping[str, Any] = VALUES, *, severity_low: str | None = None) -> dict[str, dict[str, str]]:
    """Each grid alert's labels as Prometheus sends them: the rendered rule's labels + the expression's."""
    rule = render(dict(values)).get("PrometheusRule", "gridshift")
    rules = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    alerts = {name: {"alertname": name, **EXPRESSION_LABELS[name], **rules[name]["labels"]} for name in GRID_ALERTS}
    if severity_low:
        alerts[names.ALERT_LOW]["severity"] = severity_low
    return alerts


def info_inhibitors(alerts: list[dict[str, str]]) -> list[dict[str, str]]:
    """kps general.rules' InfoInhibitor over these firing alerts:
    group by (namespace) (ALERTS{severity="info"} == 1) unless on (namespace)
      group by (namespace) (ALERTS{alertname!="InfoInhibitor", alertstate="firing", severity=~"warning|critical"} == 1)
    (an absent label groups as the empty namespace)."""
    info = {a.get("namespace", "") for a in alerts if a.get("severity") == "info"}
    louder = {a.get("namespace", "") for a in alerts
              if a["alertname"] != "InfoInhibitor" and a.get("severity") in ("warning", "critical")}
    return [{"alertname": "InfoInhibitor", "severity": "none", **({"namespace": ns} if ns else {})}
            for ns in sorted(info - louder)]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def alertmanager(tmp_path: Path, webhook: Webhook) -> Iterator[Any]:
    started: list[Process] = []

    def start(config: dict[str, Any]) -> Process:
        port = free_port()
        config_file = tmp_path / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        log = tmp_path / "alertmanager.log"
        process = subprocess.Popen(
            [find("prometheus-alertmanager"), f"--config.file={config_file}", f"--storage.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT)
        running = Process("alertmanager", f"http://127.0.0.1:{port}", process, log)
        started.append(running)
        running.wait_ready("/-/ready")
        return running

    yield start
    for running in started:
        running.stop()


def post(am: Process, alerts: list[dict[str, str]]) -> None:
    response = requests.post(f"{am.url}/api/v2/alerts", json=[{"labels": labels} for labels in alerts], timeout=5)
    assert response.status_code == 200, response.text


def wait_for(webhook: Webhook, expected: set[str], *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not expected <= webhook.alertnames():
        time.sleep(0.2)
    assert expected <= webhook.alertnames(), f"received {sorted(webhook.alertnames())}, expected {sorted(expected)}"
    time.sleep(3)  # groups flush after 1 s: anything else routed to the webhook would be here by now


def states(am: Process) -> dict[str, dict[str, Any]]:
    alerts = requests.get(f"{am.url}/api/v2/alerts", timeout=5).json()
    return {a["labels"]["alertname"]: a["status"] for a in alerts}


def test_all_five_grid_alerts_reach_the_action_service_and_nothing_else(alertmanager, webhook):
    am = alertmanager(merged_config(webhook.url))
    grid = list(grid_alerts().values())
    # a tenant's info alert, alone in its namespace: kps's InfoInhibitor fires for team-a
    tenant_info = {"alertname": "KubeQuotaAlmostFull", "namespace": "team-a", "severity": "info"}
    firing = [*grid, WATCHDOG, tenant_info]
    inhibitors = info_inhibitors(firing)
    assert inhibitors == [{"alertname": "InfoInhibitor", "severity": "none", "namespace": "team-a"}]
    post(am, firing + inhibitors)
    wait_for(webhook, set(GRID_ALERTS))
    assert webhook.alertnames() == set(GRID_ALERTS)
    assert {auth for auth, _ in webhook.received} == {f"Bearer {TOKEN}"}
    delivered = {labels["alertname"]: labels for _, labels in webhook.received}
    assert all(labels["namespace"] == NAMESPACE for labels in delivered.values())
    assert delivered[names.ALERT_LOW]["severity"] == delivered[names.ALERT_WINDOW]["severity"] == "none"
    assert states(am)[tenant_info["alertname"]]["state"] == "suppressed"  # the stock inhibition is at work


def test_a_grid_alert_without_the_release_namespace_is_not_routed_to_it(alertmanager, webhook):
    am = alertmanager(merged_config(webhook.url))
    high = grid_alerts()[names.ALERT_HIGH]
    unlabelled = {k: v for k, v in high.items() if k != "namespace"} | {"zone": "NL"}  # plain rules.yaml
    elsewhere = high | {"zone": "BE", "namespace": "team-a"}
    post(am, [high, unlabelled, elsewhere, WATCHDOG])
    wait_for(webhook, {names.ALERT_HIGH})
    assert {labels["zone"] for _, labels in webhook.received} == {"DE_LU"}


@pytest.mark.parametrize(("severity", "delivered"), [(None, True), ("info", False)], ids=["severity-none", "severity-info"])
def test_a_green_hour_alone_survives_the_stock_info_inhibitor_only_without_severity_info(
        alertmanager, webhook, severity, delivered):
    am = alertmanager(merged_config(webhook.url))
    low = grid_alerts(severity_low=severity)[names.ALERT_LOW]
    assert low["severity"] == (severity or "none")
    firing = [low, WATCHDOG]
    post(am, firing + info_inhibitors(firing))
    if delivered:
        wait_for(webhook, {names.ALERT_LOW})
        assert states(am)[names.ALERT_LOW]["state"] == "active"
    else:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and states(am).get(names.ALERT_LOW, {}).get("state") != "suppressed":
            time.sleep(0.2)
        time.sleep(3)
        status = states(am)[names.ALERT_LOW]
        assert status["state"] == "suppressed" and status["inhibitedBy"], status
        assert webhook.received == []


def test_the_merge_follows_the_operator():
    config = merged_config("http://127.0.0.1:1/api/v1/alerts")
    stock = yaml.safe_load(KPS_CONFIG.read_text())
    first, *rest = config["route"]["routes"]
    assert rest == stock["route"]["routes"]  # kps's own routes follow, unchanged
    assert first["receiver"] == f"{NAMESPACE}/gridshift/gridshift-actions" and first["continue"] is True
    assert first["matchers"][-1] == f'namespace="{NAMESPACE}"'
    assert config["inhibit_rules"] == stock["inhibit_rules"]
    amconfig = render(VALUES).get("AlertmanagerConfig", "gridshift")
    with pytest.raises(operator.Untranslatable, match="inhibitRules"):
        operator.merge(stock, {**amconfig, "spec": {**amconfig["spec"], "inhibitRules": []}}, secret=lambda *_: "")
