"""How the chart serves each component: config.serving passed through, /metrics on its own port, the grace period.

Aspects: config.serving reaches every component's file as given (and loads); with a component's
metrics_port set its container gets a `metrics` port, its Service a `metrics` port, its
ServiceMonitor scrapes that port, and its NetworkPolicy lets Prometheus reach that port and no
other, while the webhook's and the JSON API's callers keep `http` (extraFrom keeps both); without
it, everything stays on `http`; each pod's terminationGracePeriodSeconds is
serving.shutdown_grace_seconds (default 20, gridshift's own) plus 10.
"""

from __future__ import annotations

import pytest

from gridshift.config import build_config
from gridshift.serving_settings import ServingSettings
from tests.chart.render import COMBINATIONS, render

VALUES = COMBINATIONS["metrics-ports"]
COMPONENTS = {"exporter": 9510, "actions": 9610, "power": 9511}
GRAFANA = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "grafana"}}}


def pod(rendered, component):
    return next(w for w in rendered.workloads() if w["metadata"]["name"] == f"gridshift-{component}")["spec"]["template"]["spec"]


def test_config_serving_reaches_every_component():
    rendered = render(VALUES)
    for component in COMPONENTS:
        assert rendered.config(component)["serving"] == VALUES["config"]["serving"], component
    config = build_config(rendered.config("actions"), env={}, role="actions")
    assert (config.serving.shutdown_grace_seconds, config.serving.threads) == (45, 8)
    assert all(render().config(c)["serving"] == {} for c in ("exporter", "actions"))  # gridshift's defaults


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_metrics_port_is_exposed_scraped_and_reached_by_prometheus_only(component):
    rendered = render(VALUES)
    port = COMPONENTS[component]
    assert rendered.config(component)[component]["metrics_port"] == port
    (container,) = pod(rendered, component)["containers"]
    assert {"name": "metrics", "containerPort": port, "protocol": "TCP"} in container["ports"]
    service = rendered.get("Service", f"gridshift-{component}")
    assert {"name": "metrics", "port": port, "targetPort": "metrics", "protocol": "TCP"} in service["spec"]["ports"]
    (endpoint,) = rendered.get("ServiceMonitor", f"gridshift-{component}")["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    rules = rendered.get("NetworkPolicy", f"gridshift-{component}")["spec"]["ingress"]
    prometheus = [p for r in rules for p in r["from"] if p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "prometheus"]
    assert prometheus and all(r["ports"] == [{"port": "metrics", "protocol": "TCP"}] for r in rules if any(p in prometheus for p in r["from"]))
    reached_by_grafana = {p["port"] for r in rules if GRAFANA in r["from"] for p in r["ports"]}
    assert reached_by_grafana == {"http", "metrics"}  # networkPolicy.extraFrom: every port


def test_the_webhook_and_the_json_api_keep_their_callers_on_http():
    rendered = render(VALUES)
    actions = rendered.get("NetworkPolicy", "gridshift-actions")["spec"]["ingress"]
    http_peers = [p for r in actions if r["ports"] == [{"port": "http", "protocol": "TCP"}] for p in r["from"]]
    assert [p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in http_peers] == ["alertmanager", "grafana"]
    exporter = rendered.get("NetworkPolicy", "gridshift-exporter")["spec"]["ingress"]
    own = {p["podSelector"]["matchLabels"].get("app.kubernetes.io/component") for r in exporter
           if r["ports"] == [{"port": "http", "protocol": "TCP"}] for p in r["from"]}
    assert own == {"actions", "power", None}  # gridshift's own pods (and extraFrom's Grafana)


def test_without_a_metrics_port_everything_stays_on_http():
    rendered = render({"power": {"enabled": True}})
    for component in COMPONENTS:
        assert [p["name"] for p in pod(rendered, component)["containers"][0]["ports"]] == ["http"]
        assert [p["name"] for p in rendered.get("Service", f"gridshift-{component}")["spec"]["ports"]] == ["http"]
        assert rendered.get("ServiceMonitor", f"gridshift-{component}")["spec"]["endpoints"][0]["port"] == "http"
        (rule,) = rendered.get("NetworkPolicy", f"gridshift-{component}")["spec"]["ingress"]
        assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]


@pytest.mark.parametrize(("values", "grace"), [
    ({}, ServingSettings().shutdown_grace_seconds + 10),
    (VALUES, 55),
    ({"config": {"serving": {"threads": 2}}}, 30),
], ids=["default", "45s", "other-serving-keys"])
def test_the_grace_period_covers_gridshifts_own_shutdown(values, grace):
    rendered = render(values)
    assert ServingSettings().shutdown_grace_seconds == 20
    for workload in rendered.workloads():
        assert workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == grace, workload["metadata"]["name"]
