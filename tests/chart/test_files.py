"""What the chart includes from elsewhere stays the one source's: rules, dashboards, routing.

Aspects: the chart's copies (files/rules.yaml, files/dashboards/) equal alertmanager/rules.yaml
and grafana/*.json (charts/sync.py --check), and the check catches a changed, missing or
orphaned copy; the PrometheusRule's groups equal alertmanager/rules.yaml's, Prometheus's own
templates untouched, with the release namespace on the four grid alerts only; each dashboard becomes a ConfigMap for the Grafana sidecar and none is
rendered while there are none; the AlertmanagerConfig and the plain receiver in docs/helm.md
route as alertmanager/alertmanager.yml does; NOTES.txt says what to do next.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import helm_python as helm
import pytest
import yaml

from gridshift import names
from tests.chart.render import CHART, COMBINATIONS, ROOT, Rendered, render

RULES = ROOT / "alertmanager" / "rules.yaml"
ALERTMANAGER = ROOT / "alertmanager" / "alertmanager.yml"
HELM_DOC = ROOT / "docs" / "helm.md"


def load_sync(root: Path):
    """charts/sync.py as a module, pointed at `root` (a repository layout)."""
    spec = importlib.util.spec_from_file_location("chart_sync", ROOT / "charts" / "sync.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.ROOT, module.CHART = root, root / "charts" / "gridshift"
    module.DASHBOARDS = module.CHART / "files" / "dashboards"
    return module


def test_the_charts_copies_equal_their_sources():
    result = subprocess.run([sys.executable, str(ROOT / "charts" / "sync.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"the chart's copies drifted:\n{result.stderr}"


def test_the_drift_check_catches_a_changed_a_missing_and_an_orphaned_copy(tmp_path):
    for folder in ("alertmanager", "grafana", "charts/gridshift/files/dashboards"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "alertmanager" / "rules.yaml").write_text("groups: []\n")
    (tmp_path / "grafana" / "overview.json").write_text("{}\n")
    sync = load_sync(tmp_path)
    assert sorted(sync.drift()) == ["charts/gridshift/files/dashboards/overview.json: missing (source grafana/overview.json)",
                                    "charts/gridshift/files/rules.yaml: missing (source alertmanager/rules.yaml)"]
    sync.sync()
    assert sync.drift() == []
    (tmp_path / "alertmanager" / "rules.yaml").write_text("groups: [{name: changed, rules: []}]\n")
    (tmp_path / "grafana" / "overview.json").unlink()
    assert sorted(sync.drift()) == ["charts/gridshift/files/dashboards/overview.json: its source grafana/overview.json is gone",
                                    "charts/gridshift/files/rules.yaml: differs from alertmanager/rules.yaml"]
    sync.sync()
    assert sync.drift() == [] and not list((tmp_path / "charts/gridshift/files/dashboards").glob("*.json"))


GRID_ALERTS = {names.ALERT_HIGH, names.ALERT_CRITICAL, names.ALERT_LOW, names.ALERT_STALE, names.ALERT_WINDOW}


def test_the_prometheus_rule_is_alertmanager_rules_yaml_with_the_namespace_on_the_grid_alerts():
    rule = render(namespace="carbon").get("PrometheusRule", "gridshift")
    expected = yaml.safe_load(RULES.read_text())["groups"]
    for group in expected:
        for item in group["rules"]:
            if item.get("alert") in GRID_ALERTS:
                assert "namespace" not in item.get("labels", {}), item["alert"]  # the one source stays namespace-free
                item["labels"]["namespace"] = "carbon"
    assert rule["spec"]["groups"] == expected
    labelled = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "namespace" in r.get("labels", {})}
    assert labelled == GRID_ALERTS  # GridshiftActionsFailing keeps the tenant's namespace from its expression
    annotations = [r["annotations"]["summary"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert any("{{ $labels.zone }}" in summary for summary in annotations)  # not evaluated by Helm


def test_one_dashboard_configmap_per_grafana_json_and_none_without():
    sources = sorted(p.name for p in (ROOT / "grafana").glob("*.json"))
    rendered = [c for c in render().of_kind("ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert sorted(key for c in rendered for key in c["data"]) == sources


def test_each_dashboard_becomes_a_configmap_for_the_grafana_sidecar(tmp_path):
    copy = tmp_path / "gridshift"
    shutil.copytree(CHART, copy)
    for shipped in (copy / "files" / "dashboards").glob("*.json"):
        shipped.unlink()  # only the test's own dashboard
    dashboard = {"title": "gridshift overview", "panels": [{"expr": 'sum by (zone) ({__name__="x", a="{{b}}"})'}]}
    (copy / "files" / "dashboards" / "cluster_overview.json").write_text(json.dumps(dashboard))
    with helm.Chart.load(str(copy)) as chart:
        rendered = Rendered(values={}, manifests=chart.render({}, name="gridshift", namespace="gridshift"))
    (configmap,) = [c for c in rendered.of_kind("ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert configmap["metadata"]["name"] == "gridshift-dashboard-cluster-overview"
    assert json.loads(configmap["data"]["cluster_overview.json"]) == dashboard
    with helm.Chart.load(str(copy)) as chart:
        off = Rendered(values={}, manifests=chart.render({"dashboards": {"enabled": False}}, name="gridshift", namespace="gridshift"))
    assert not [c for c in off.of_kind("ConfigMap") if "grafana_dashboard" in c["metadata"]["labels"]]


def example_route() -> tuple[dict, dict]:
    example = yaml.safe_load(ALERTMANAGER.read_text())
    (route,) = [r for r in example["route"]["routes"] if r["receiver"] == "gridshift-actions"]
    (receiver,) = [r for r in example["receivers"] if r["name"] == "gridshift-actions"]
    return route, receiver


def test_the_alertmanager_config_routes_as_the_example_does():
    route, receiver = example_route()
    spec = render().get("AlertmanagerConfig", "gridshift")["spec"]
    ours = spec["route"]
    assert [f'{m["name"]}{m["matchType"]}"{m["value"]}"' for m in ours["matchers"]] == route["matchers"]
    assert (ours["groupBy"], ours["groupWait"], ours["groupInterval"], ours["repeatInterval"], ours["continue"]) == (
        route["group_by"], route["group_wait"], route["group_interval"], route["repeat_interval"], route["continue"])
    (hook,) = spec["receivers"][0]["webhookConfigs"]
    (theirs,) = receiver["webhook_configs"]
    assert hook["url"] == theirs["url"]  # release `gridshift` in namespace `gridshift`, as the example assumes
    assert (hook["sendResolved"], hook["maxAlerts"]) == (theirs["send_resolved"], theirs["max_alerts"])
    assert hook["httpConfig"]["authorization"]["type"] == theirs["http_config"]["authorization"]["type"]
    assert hook["httpConfig"]["authorization"]["credentials"] == {"name": "gridshift-webhook-token", "key": "token"}
    assert theirs["http_config"]["authorization"]["credentials_file"].endswith("/gridshift-webhook-token/token")


def test_the_plain_receiver_in_the_docs_routes_as_the_example_does():
    text = HELM_DOC.read_text()
    section = text.split("## Alertmanager without prometheus-operator", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    snippet = yaml.safe_load(block)
    route, receiver = example_route()
    (doc_route,) = snippet["route"]["routes"]
    assert doc_route == route
    (doc_receiver,) = snippet["receivers"]
    assert doc_receiver == receiver


def test_notes_say_what_to_do_next():
    notes = render().notes
    assert "kubectl annotate namespace team-a gridshift.io/action=pause" in notes
    assert "grafana_dashboard" in notes and "Grafana" in notes
    assert "alertmanagerConfigMatcherStrategy" not in notes  # the default strategy works
    assert 'the matcher\n   namespace="gridshift"' in notes
    assert "kubectl -n gridshift logs job/gridshift-restore" in notes
    assert "does not restore" in render({"restoreOnUninstall": {"enabled": False}}).notes
    assert "kubectl -n gridshift get secret gridshift-webhook-token" in notes
    # no selector labels: a loud warning naming the one value kube-prometheus-stack needs
    assert "WARNING: no Prometheus selects" in notes and "--set kubePrometheusStack.release=kube-prometheus-stack" in notes
    for selected in (COMBINATIONS["everything"], {"kubePrometheusStack": {"release": "kps"}}):
        assert "WARNING" not in render(selected).notes
    assert "WARNING" not in render(COMBINATIONS["prometheus-operator-off"]).notes
    kps = render({"kubePrometheusStack": {"release": "kps"}}).notes
    assert "http://kps-kube-prometheus-stack-alertmanager.monitoring.svc:9093" in kps
    assert 'image.repository is "gridshift", a local name' in notes  # there is no public image
    assert "a local name" not in render({"image": {"repository": "registry.example.com/gridshift"}}).notes


@pytest.mark.parametrize("combination", ["prometheus-operator-off"])
def test_notes_without_the_operator_print_the_receiver(combination):
    notes = render(COMBINATIONS[combination]).notes
    snippet = yaml.safe_load(notes.split("(docs/helm.md):", 1)[1].split("The token is in", 1)[0])
    (hook,) = snippet["receivers"][0]["webhook_configs"]
    assert hook["url"] == "http://gridshift-actions.gridshift.svc:9600/api/v1/alerts"
