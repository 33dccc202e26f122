"""The kind end-to-end workflow is coherent (it cannot run here: no container engine, no network).

Aspects: the workflow parses and says in its header that the project has not run it; its steps
build the image, create the kind cluster, install kube-prometheus-stack and the chart with
ci/kind-values.yaml, opt a namespace in, deploy a workload and wait for replicas 0, then restore;
the chart renders with those values into configurations gridshift accepts, with an intensity
above the thresholds (so the alert fires) and the image tag the workflow builds; the
kube-prometheus-stack values it installs select the chart's AlertmanagerConfig without a
namespace matcher.
"""

from __future__ import annotations

import re

import yaml

from gridshift.config import build_config
from tests.chart.render import CHART, ROOT, render

WORKFLOW = ROOT / ".github" / "workflows" / "kind-e2e.yaml"
KIND_VALUES = CHART / "ci" / "kind-values.yaml"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps() -> list[dict]:
    (job,) = workflow()["jobs"].values()
    return job["steps"]


def run_text() -> str:
    return "\n".join(step.get("run", "") for step in steps())


def test_the_header_says_plainly_it_was_not_run_here():
    header = WORKFLOW.read_text().split("\nname:", 1)[0]
    assert "NOT RUN BY THE GRIDSHIFT PROJECT" in header


def test_the_steps_do_what_the_header_says():
    uses = [step.get("uses", "") for step in steps()]
    assert any(u.startswith("helm/kind-action@") for u in uses)
    text = run_text()
    order = ["python charts/sync.py --check", "docker build --tag gridshift:e2e .", "kind load docker-image gridshift:e2e",
             "helm install kube-prometheus-stack",
             "helm install gridshift charts/gridshift", "--values charts/gridshift/ci/kind-values.yaml",
             "kubectl annotate namespace team-a gridshift.io/action=pause", "create deployment web",
             "{.spec.replicas}", '= "0"', "gridshift.io/action=none", '= "2"']
    positions = [text.find(fragment) for fragment in order]
    assert -1 not in positions, [f for f, p in zip(order, positions) if p == -1]
    assert positions == sorted(positions), "steps out of order"


def kps_values() -> dict:
    text = run_text()
    block = re.search(r"<<'VALUES'\n(.*?)\nVALUES", text, re.S)
    assert block, "no kube-prometheus-stack values in the workflow"
    return yaml.safe_load(block.group(1))


def test_kube_prometheus_stack_selects_the_charts_objects():
    kps = kps_values()
    # kube-prometheus-stack's defaults, untouched: no selector, matcher strategy or default rule changed
    # (its Prometheus selects `release: <its release>`; the chart's grid alerts carry the release
    # namespace, so the default OnNamespace matcher strategy delivers them)
    assert "alertmanager" not in kps and "defaultRules" not in kps
    assert set(kps["prometheus"]["prometheusSpec"]) == {"scrapeInterval", "evaluationInterval"}
    assert "helm dependency" not in run_text()
    rendered = render(yaml.safe_load(KIND_VALUES.read_text()))
    for kind in ("ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"):
        for obj in rendered.of_kind(kind):
            assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack", (kind, obj["metadata"]["name"])


def test_the_kind_values_render_a_loop_that_fires():
    values = yaml.safe_load(KIND_VALUES.read_text())
    rendered = render(values)
    exporter = build_config(rendered.config("exporter"), env={})
    actions = build_config(rendered.config("actions"), env={"GRIDSHIFT_WEBHOOK_TOKEN": "t"})
    (zone, intensity), = exporter.grid.static.zones.items()
    assert intensity > exporter.grid.thresholds["default"].critical
    assert actions.cluster.default_zone == zone
    assert actions.actions.alertmanager_url.startswith("http://kube-prometheus-stack-alertmanager.monitoring.svc")
    for workload in rendered.workloads():
        container = workload["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "gridshift:e2e" and container["imagePullPolicy"] == "Never"
