"""The Grafana dashboards of grafana/: well-formed, portable, and every query answers in the real loop.

Aspects: each dashboard is JSON with a uid, a title, a current schemaVersion and panels that all
have a description; every panel and target uses the `${datasource}` variable (no data source uid
baked in) and no namespace is hard-coded; every panel with a value has a unit; every PromQL
expression parses (promql-parser); the zone gazetteer (zones.geojson) holds known zones in Europe;
and, end to end (real Prometheus, Alertmanager and the action loop replaying a real German day),
every query returns data over the loop's history once team-batch has been held and restored
(asked as a range query, as Grafana asks a time series panel), except those listed in
EXPECTED_EMPTY with the reason (no reconcile error, skip or failure happens in it). The forecast
horizons and greenest windows come from the loop's second zone, GB 2020 replayed in real time. The namespace power exporter runs in the loop, reading a
Kepler whose power follows the workloads' replicas (gridshift/demo/kepler.py), so the power,
energy, emissions and avoided-emissions panels answer for team-batch, paused while held.
"""

from __future__ import annotations

import json
import time
import re
from pathlib import Path

import promql_parser
import pytest
import requests

from gridshift.demo.loop import NAMESPACES, Loop, wait_for
from gridshift.zones import entsoe_zone_names

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARDS = sorted(GRAFANA.glob("*.json"))
EXPECTED = {"gridshift-cluster.json", "gridshift-project.json", "gridshift-actions.json"}
# Queries that have no data in the loop: (a regular expression a query matches, why). Not faked.
EXPECTED_EMPTY = [
    (r"gridshift_reconcile_errors_total", "no reconcile error happens in the loop (the counter has no series until one does)"),
    (r'result=~"skipped\|failed"', "no decision is skipped or fails in the loop (a counter series appears with the first one)"),
]
VALUE_PANELS = {"timeseries", "stat", "bargauge", "gauge", "geomap", "barchart"}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def targets(dashboard: dict):
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def substitute(expr: str, *, namespace: str = "team-batch") -> str:
    """What Grafana would send: the variables replaced by values that exist in the loop."""
    return (expr.replace("$__rate_interval", "1m").replace("$__range", "1h").replace("$__interval", "1m")
            .replace("$work_metric", 'sum(rate(gridshift_webhook_requests_total[5m]))')
            .replace("$namespace", namespace).replace("$zone", ".+"))


ALL_TARGETS = [pytest.param(path.name, panel["title"], target["refId"], target["expr"],
                            id=f"{path.stem}:{panel['title']}:{target['refId']}")
               for path in DASHBOARDS for panel, target in targets(load(path))]


def test_the_three_dashboards_are_there():
    assert {path.name for path in DASHBOARDS} == EXPECTED


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_a_dashboard_has_the_required_keys_and_a_current_schema(path):
    dashboard = load(path)
    assert dashboard["uid"] == path.stem and len(dashboard["uid"]) <= 40
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 39
    assert dashboard["panels"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in dashboard["panels"]:
        assert panel.get("description", "").strip(), f"{panel['title']}: no description"
        assert panel["title"] and panel["gridPos"]["w"] <= 24


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_datasource_is_a_variable_everywhere(path):
    dashboard = load(path)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "${datasource}", variable["name"]
    # No data source uid anywhere but the variable.
    uids = re.findall(r'"uid":\s*"([^"]*)"', path.read_text())
    assert set(uids) == {dashboard["uid"], "${datasource}"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_no_namespace_is_hard_coded_and_values_have_units(path):
    text = path.read_text()
    for namespace in NAMESPACES:
        assert f'namespace=\\"{namespace}\\"' not in text and f'namespace="{namespace}"' not in text, namespace
    for panel in load(path)["panels"]:
        if panel["type"] in VALUE_PANELS:
            config = panel["fieldConfig"]
            units = [config["defaults"].get("unit")] + [p["value"] for o in config["overrides"]
                                                        for p in o["properties"] if p["id"] == "unit"]
            assert any(units), f"{panel['title']}: no unit"


def test_the_project_dashboard_is_per_namespace_with_a_work_metric():
    dashboard = load(GRAFANA / "gridshift-project.json")
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["namespace"]["definition"] == "label_values(gridshift_namespace_power_watts, namespace)"
    assert variables["work_metric"]["type"] == "textbox"
    exprs = [target["expr"] for _, target in targets(dashboard)]
    assert all("$namespace" in expr for expr in exprs)
    assert any("$work_metric" in expr for expr in exprs)


@pytest.mark.parametrize(("dashboard", "panel", "ref", "expr"), ALL_TARGETS)
def test_every_query_parses(dashboard, panel, ref, expr):
    promql_parser.parse(substitute(expr))


def test_panels_of_error_counters_show_0_when_nothing_failed():
    """An error counter has no series until the first error: such a panel says 0, not "No data"."""
    for path in DASHBOARDS:
        for panel, target in targets(load(path)):
            if any(re.search(pattern, target["expr"]) for pattern, _ in EXPECTED_EMPTY):
                assert panel["fieldConfig"]["defaults"].get("noValue") == "0", (path.name, panel["title"])


def test_the_parser_rejects_a_broken_query():
    with pytest.raises(ValueError):
        promql_parser.parse("sum by (zone) (rate(gridshift_actions_total[5m])")


# --- end to end --------------------------------------------------------------------------------


def _answers(loop: Loop, expr: str, start: float, end: float) -> bool:
    """Whether `expr` has any point over [start, end], asked as Grafana asks a time series panel."""
    answer = requests.get(f"{loop.prometheus.url}/api/v1/query_range",
                          params={"query": expr, "start": start, "end": end, "step": 1}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return any(series["values"] for series in answer["data"]["result"])


def _expected_empty(expr: str) -> str | None:
    return next((reason for pattern, reason in EXPECTED_EMPTY if re.search(pattern, expr)), None)


@pytest.mark.e2e
def test_every_query_returns_data_in_the_loop(loop):
    # Every query over the loop's history once team-batch has been held and restored (the loop is
    # shared by the session, so that may have happened before this test began).
    assert wait_for(lambda: loop.restored("team-batch"), timeout=150, every=1), "team-batch was never held and restored"
    time.sleep(5)  # the restore's counters and gauges reach Prometheus (1 s scrapes, 1 s rule groups)
    end = time.time()
    queries = {f"{path.name}: {panel['title']} ({target['refId']})": substitute(target["expr"])
               for path in DASHBOARDS for panel, target in targets(load(path))}
    answered = {name for name, expr in queries.items() if _answers(loop, expr, loop.started_at, end)}
    empty = [name for name, expr in queries.items() if name not in answered and not _expected_empty(expr)]
    assert not empty, "queries with no data:\n" + "\n".join(empty)
    surprising = [name for name, expr in queries.items() if name in answered and _expected_empty(expr)]
    assert not surprising, "expected empty but answered (update EXPECTED_EMPTY):\n" + "\n".join(surprising)


def test_the_zone_gazetteer_places_known_zones_in_europe():
    features = json.loads((GRAFANA / "zones.geojson").read_text())["features"]
    keys = [feature["id"] for feature in features]
    assert len(keys) == len(set(keys)) and {"DE", "GB", "FR", "SE_4", "DK_1"} <= set(keys)
    assert set(keys) <= entsoe_zone_names()
    for feature in features:
        lon, lat = feature["geometry"]["coordinates"]
        assert feature["properties"]["id"] == feature["id"] and 34 < lat < 72 and -11 < lon < 35, feature["id"]
