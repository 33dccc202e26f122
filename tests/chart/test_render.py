"""The chart renders, lints clean and produces valid objects in every value combination.

Aspects: every combination of render.COMBINATIONS renders through the Helm SDK; every built-in
object validates (kubernetes-validate, strict: unknown fields fail) against several Kubernetes
versions; the prometheus-operator objects, which kubernetes-validate has no schema for, are
checked structurally and against the Services and Secrets they point at; each combination
renders what it should and nothing else; from the chart as a clone has it (no network, no
charts/ folder) `helm lint --strict` finds nothing and `helm install --dry-run=server` installs,
because nothing declares a dependency (a declared one, even switched off, is refused: shown).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions

from tests.chart.fake_apiserver import FakeApiServer
from tests.chart.install import install_dry_run_server
from tests.chart.render import CHART, COMBINATIONS, NAMESPACE, RELEASE, clean, render

# Oldest supported (Chart.yaml kubeVersion) to the newest the installed kubernetes-validate knows.
VERSIONS = ("1.29", "1.30", "1.31", "1.33", "1.35", "1.37")
MONITORING = "monitoring.coreos.com"
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"}
GRAFANA = Path(__file__).resolve().parents[2] / "grafana"  # the dashboards the chart ships (charts/sync.py)
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def test_the_installed_kubernetes_validate_knows_every_version_tested():
    known = set(all_versions())
    assert {f"{v}.0" for v in VERSIONS} <= known, sorted(known)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_every_builtin_object_is_valid_on_every_kubernetes_version(combination):
    rendered = render(COMBINATIONS[combination])
    problems = []
    for obj in rendered.objects:
        if obj["kind"] in CRD_KINDS:
            continue
        for version in VERSIONS:
            try:
                # it falls back to an older schema when it lacks the one asked for: make sure it did not
                used = kubernetes_validate.validate(clean(obj), version, strict=True)
                assert used == version, f"validated against {used}, not {version}"
            except kubernetes_validate.SchemaNotFoundError as error:
                problems.append(f"{obj['kind']}: {error.message}")
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(p) for p in error.path)
                problems.append(f"{obj['kind']}/{obj['metadata']['name']} on {version}: {error.message} at {where}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_every_object_is_named_labelled_and_in_place(combination):
    rendered = render(COMBINATIONS[combination])
    for obj in rendered.objects:
        meta = obj["metadata"]
        what = f"{obj['kind']}/{meta['name']}"
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", meta["name"]) and len(meta["name"]) <= 63, what
        assert meta["labels"]["app.kubernetes.io/instance"] == RELEASE, what
        assert meta["labels"]["app.kubernetes.io/part-of"] == "gridshift", what
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding", "RoleBinding", "Role"):
            assert meta["namespace"] == NAMESPACE, what


def service_monitors_are_well_formed(rendered) -> list[str]:
    problems = []
    services = rendered.of_kind("Service")
    for monitor in rendered.of_kind("ServiceMonitor"):
        name, spec = monitor["metadata"]["name"], monitor["spec"]
        if monitor["apiVersion"] != f"{MONITORING}/v1":
            problems.append(f"{name}: apiVersion {monitor['apiVersion']}")
        selector = spec["selector"]["matchLabels"]
        if not selector:
            problems.append(f"{name}: empty selector selects every Service")
        for endpoint in spec["endpoints"]:
            unknown = set(endpoint) - {"port", "path", "interval", "scrapeTimeout", "honorLabels", "metricRelabelings"}
            if unknown:
                problems.append(f"{name}: unknown endpoint fields {unknown}")
            for key in ("interval", "scrapeTimeout"):
                if not DURATION.match(str(endpoint[key])):
                    problems.append(f"{name}: {key} {endpoint[key]!r} is not a duration")
            for relabel in endpoint.get("metricRelabelings", []):
                if not set(relabel) <= {"sourceLabels", "regex", "targetLabel", "replacement", "action"}:
                    problems.append(f"{name}: unknown relabel fields {set(relabel)}")
        if name.endswith("-kepler"):
            continue  # Kepler's Service is the subchart's or the user's, not rendered here
        matched = [s for s in services if selector.items() <= s["metadata"]["labels"].items()
                   and s["metadata"]["namespace"] in spec["namespaceSelector"]["matchNames"]]
        if len(matched) != 1:
            problems.append(f"{name}: selects {len(matched)} Services, not 1")
            continue
        ports = {p["name"] for p in matched[0]["spec"]["ports"]}
        problems += [f"{name}: port {e['port']!r} not on Service {matched[0]['metadata']['name']} ({ports})"
                     for e in spec["endpoints"] if e["port"] not in ports]
        if spec.get("jobLabel") not in matched[0]["metadata"]["labels"]:
            problems.append(f"{name}: jobLabel {spec.get('jobLabel')!r} is not a label of its Service")
    return problems


def alertmanager_config_is_well_formed(rendered) -> list[str]:
    problems = []
    for config in rendered.of_kind("AlertmanagerConfig"):
        if config["apiVersion"] != f"{MONITORING}/v1alpha1":
            problems.append(f"apiVersion {config['apiVersion']}")
        spec = config["spec"]
        receivers = {r["name"]: r for r in spec["receivers"]}
        if spec["route"]["receiver"] not in receivers:
            problems.append(f"route receiver {spec['route']['receiver']} not among {sorted(receivers)}")
        problems += [f"matcher {m}" for m in spec["route"]["matchers"]
                     if set(m) != {"name", "matchType", "value"} or m["matchType"] not in ("=", "!=", "=~", "!~")]
        for receiver in receivers.values():
            for hook in receiver["webhookConfigs"]:
                match = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)/api/v1/alerts", hook["url"])
                if not match:
                    problems.append(f"webhook url {hook['url']}")
                    continue
                service = rendered.get("Service", match.group(1))
                if int(match.group(3)) not in {p["port"] for p in service["spec"]["ports"]}:
                    problems.append(f"port {match.group(3)} not on {match.group(1)}")
                credentials = hook["httpConfig"]["authorization"]["credentials"]
                existing = rendered.values.get("webhook", {}).get("existingSecret")
                if existing:
                    if credentials["name"] != existing:
                        problems.append(f"credentials {credentials} do not name webhook.existingSecret")
                elif credentials["key"] not in rendered.get("Secret", credentials["name"])["data"]:
                    problems.append(f"credentials {credentials}: no such key in the rendered Secret")
    return problems


def prometheus_rule_is_well_formed(rendered) -> list[str]:
    problems = []
    for rule in rendered.of_kind("PrometheusRule"):
        if rule["apiVersion"] != f"{MONITORING}/v1" or set(rule["spec"]) != {"groups"}:
            problems.append(f"{rule['apiVersion']} spec keys {sorted(rule['spec'])}")
        for group in rule["spec"]["groups"]:
            for item in group["rules"]:
                if ("alert" in item) == ("record" in item) or not item.get("expr"):
                    problems.append(f"{group['name']}: malformed rule {item}")
    return problems


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_prometheus_operator_objects_are_well_formed(combination):
    """kubernetes-validate has no schema for CRD kinds: these are checked here instead."""
    rendered = render(COMBINATIONS[combination])
    problems = (service_monitors_are_well_formed(rendered) + alertmanager_config_is_well_formed(rendered)
                + prometheus_rule_is_well_formed(rendered))
    assert not problems, "\n".join(problems)


def names(rendered, kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in rendered.of_kind(kind)}


def test_defaults_render_the_exporter_and_the_action_service():
    rendered = render()
    assert names(rendered, "Deployment") == {"gridshift-exporter", "gridshift-actions"}
    assert names(rendered, "DaemonSet") == set()
    assert names(rendered, "Service") == {"gridshift-exporter", "gridshift-actions"}
    assert names(rendered, "ServiceMonitor") == {"gridshift-exporter", "gridshift-actions"}
    assert names(rendered, "PrometheusRule") == {"gridshift"}
    assert names(rendered, "AlertmanagerConfig") == {"gridshift"}
    assert names(rendered, "NetworkPolicy") == {"gridshift-exporter", "gridshift-actions"}
    assert names(rendered, "PodDisruptionBudget") == {"gridshift-exporter", "gridshift-actions"}
    assert names(rendered, "Secret") == {"gridshift-webhook-token"}
    dashboards = {f"gridshift-dashboard-{path.stem}" for path in GRAFANA.glob("*.json")}
    assert len(dashboards) == 3
    assert names(rendered, "ConfigMap") == {"gridshift-config"} | dashboards


def test_the_estimator_is_a_daemonset_on_every_node_with_the_hosts_processes():
    rendered = render(COMBINATIONS["estimator"])
    assert "gridshift-power" not in names(rendered, "Deployment")
    daemonset = rendered.get("DaemonSet", "gridshift-power")
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["hostPID"] is True
    assert {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert pod["containers"][0]["args"] == ["power-exporter", "--config", "/etc/gridshift/power.yaml"]
    assert "gridshift-power" in names(rendered, "ServiceMonitor")
    # a DaemonSet has no scale subresource, which a maxUnavailable PodDisruptionBudget needs
    assert "gridshift-power" not in names(rendered, "PodDisruptionBudget")
    assert "gridshift-power" in names(render(COMBINATIONS["kepler"]), "PodDisruptionBudget")


def test_kepler_gets_the_service_monitor_that_gives_tenants_their_namespace():
    rendered = render(COMBINATIONS["kepler"])
    assert "gridshift-power" in names(rendered, "Deployment") and not rendered.of_kind("DaemonSet")
    monitor = rendered.get("ServiceMonitor", "gridshift-kepler")
    # the Kepler chart's selector labels (kepler.selectorLabels) for its release `kepler` in `kepler`
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "kepler",
                                                          "app.kubernetes.io/instance": "kepler"}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["kepler"]}
    other = render({"kepler": {"enabled": True, "release": "power", "namespace": "energy"}}).get("ServiceMonitor", "gridshift-kepler")
    assert other["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "power"
    assert other["spec"]["namespaceSelector"] == {"matchNames": ["energy"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "http"
    copies = {tuple(r["sourceLabels"]): r for r in endpoint["metricRelabelings"]}
    assert set(copies) == {("container_namespace",), ("pod_namespace",)}
    for rule in copies.values():
        assert (rule["regex"], rule["targetLabel"], rule["replacement"], rule["action"]) == ("(.+)", "namespace", "$1", "replace")
    # our own exporters keep their `namespace` label; Kepler's is rewritten instead
    assert all(e["honorLabels"] for m in rendered.of_kind("ServiceMonitor") if m is not monitor for e in m["spec"]["endpoints"])
    assert "honorLabels" not in endpoint


def test_a_kepler_of_your_own_is_monitored_where_it_runs():
    rendered = render(COMBINATIONS["kepler-external"])
    monitor = rendered.get("ServiceMonitor", "gridshift-kepler")
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["monitoring-kepler"]}
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "kepler-exporter"}
    assert not render().has("ServiceMonitor", "gridshift-kepler")  # no Kepler known, no monitor


def test_prometheus_operator_off_renders_no_custom_resources():
    rendered = render(COMBINATIONS["prometheus-operator-off"])
    assert not [o["kind"] for o in rendered.objects if o["apiVersion"].startswith(MONITORING)]
    assert "gridshift-power" in names(rendered, "Service")  # a plain Prometheus can still scrape it
    assert "webhook_configs" in rendered.notes  # and the receiver to add by hand is printed


def test_network_policy_off_renders_none():
    assert not render(COMBINATIONS["network-policy-off"]).of_kind("NetworkPolicy")
    assert len(render(COMBINATIONS["kepler"]).of_kind("NetworkPolicy")) == 3


def test_monitoring_labels_reach_the_objects_prometheus_selects():
    rendered = render(COMBINATIONS["everything"])
    for obj in rendered.objects:
        if obj["apiVersion"].startswith(MONITORING):
            assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack", obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["team"] == "platform"


def test_another_release_name_keeps_the_job_names_the_rules_expect():
    rendered = render(name="carbon", namespace="ops")
    assert names(rendered, "Deployment") == {"carbon-gridshift-exporter", "carbon-gridshift-actions"}
    jobs = {s["metadata"]["labels"]["gridshift.io/job"] for s in rendered.of_kind("Service")}
    assert jobs == {"gridshift-exporter", "gridshift-actions"}  # GridshiftTargetDown: up{job=~"gridshift.*"}


def test_the_chart_declares_no_dependency_and_ships_none(chart_as_cloned):
    with helm.Chart.load(str(CHART)) as chart:
        assert "dependencies" not in chart.metadata and chart.dependencies == []
    assert helm.dependency_list(str(CHART)) == []
    assert not (chart_as_cloned / "charts").exists() and not (chart_as_cloned / "Chart.lock").exists()
    assert (chart_as_cloned / "templates" / "kepler-servicemonitor.yaml").is_file()


def test_a_clone_installs_with_a_server_side_dry_run(chart_as_cloned):
    with fake_cluster() as api:
        release = install_dry_run_server(chart_as_cloned, api, {})
    assert release["status"] == "pending-install"
    assert {o["kind"] for o in release["objects"]} >= {"Deployment", "Service", "ConfigMap", "PrometheusRule"}
    assert [r for r in api.requests if r[0] != "GET"] == []


def test_a_declared_dependency_that_is_not_fetched_is_refused(chart_as_cloned, tmp_path):
    """What the Helm CLI did with the former Kepler subchart, even with kepler.enabled false."""
    copy = tmp_path / "gridshift"
    shutil.copytree(chart_as_cloned, copy)
    with (copy / "Chart.yaml").open("a", encoding="utf-8") as chart_yaml:
        chart_yaml.write("dependencies:\n  - name: kepler\n    version: '>=0.11.0 <1.0.0'\n"
                         "    repository: oci://quay.io/sustainable_computing_io/charts\n    condition: kepler.enabled\n")
    assert [f["error"] for f in lint_findings(copy, {}, "v1.31.0")] == ["chart directory is missing these dependencies: kepler"]
    with fake_cluster() as api, pytest.raises(helm.HelmError, match="kepler"):
        install_dry_run_server(copy, api, {})


def fake_cluster() -> FakeApiServer:
    return FakeApiServer({(o["apiVersion"], o["kind"]) for o in render(COMBINATIONS["everything"]).objects})


def lint_findings(path: Path, values: dict, kube_version: str) -> list[dict]:
    report = helm.lint(str(path), values, strict=True, namespace=NAMESPACE, kube_version=kube_version)
    return [m for m in report["messages"] if m["severity"] > 1]  # 1 is info (e.g. "icon is recommended")


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_helm_lint_strict_finds_nothing(combination, chart_as_cloned):
    for kube_version in ("v1.29.0", "v1.35.0"):
        findings = lint_findings(chart_as_cloned, COMBINATIONS[combination], kube_version)
        assert not findings, findings


def test_helm_lint_does_report_a_broken_template(chart_as_cloned, tmp_path):
    """So a clean lint above means something."""
    copy = tmp_path / "gridshift"
    shutil.copytree(chart_as_cloned, copy)
    (copy / "templates" / "broken.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: {{ .Values.nope.deeper }}\n")
    findings = lint_findings(copy, {}, "v1.31.0")
    assert any("nil pointer" in f["error"] for f in findings), findings
