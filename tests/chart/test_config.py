"""The configuration files the chart renders are ones gridshift itself accepts.

Aspects: in every value combination each component's file loads with gridshift's own loader
(gridshift.config.build_config: unknown keys, bad values and missing secrets all fail), given
exactly the secrets the chart hands that pod; each component gets only its sections; the chart's
ports are the ones the containers, probes and Services use; the chart fills in what it knows
(the exporter's address, Kepler's Service, the Karmada members, the estimator switch); the
container arguments are subcommands of the `gridshift` command line.
"""

from __future__ import annotations

import pytest

from gridshift import secrets
from gridshift.cli import _parser
from gridshift.config import build_config
from tests.chart.render import COMBINATIONS, NAMESPACE, RELEASE, Rendered, render

EXPORTER_URL = f"http://{RELEASE}-exporter.{NAMESPACE}.svc:9500"
SECTIONS = {"exporter": {"log_level", "log_format", "serving", "exporter", "grid"},
            "actions": {"log_level", "log_format", "serving", "cluster", "actions"},
            "power": {"log_level", "log_format", "serving", "cluster", "power"}}
WORKLOAD = {"exporter": "gridshift-exporter", "actions": "gridshift-actions", "power": "gridshift-power"}


def env_of(rendered: Rendered, component: str) -> dict[str, str]:
    """The secrets the chart hands this component's pod, as values (read from the rendered Secrets)."""
    import base64

    workload = next(w for w in rendered.workloads() if w["metadata"]["name"] == WORKLOAD[component])
    pod = workload["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    env = {}
    for item in pod["containers"][0].get("env", []):
        if item["name"].endswith("_FILE"):
            directory, key = item["value"].rsplit("/", 1)
            secret_name = volumes[mounts[directory]]["secret"]["secretName"]
            if rendered.has("Secret", secret_name):
                env[item["name"].removesuffix("_FILE")] = base64.b64decode(rendered.get("Secret", secret_name)["data"][key]).decode()
            else:  # an existingSecret: its content is the user's
                env[item["name"].removesuffix("_FILE")] = f"value-of-{secret_name}-{key}"
    return env


def components(rendered: Rendered) -> list[str]:
    return [c for c in SECTIONS if any(w["metadata"]["name"] == WORKLOAD[c] for w in rendered.workloads())]


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_every_rendered_config_loads_with_gridshifts_own_loader(combination):
    rendered = render(COMBINATIONS[combination])
    for component in components(rendered):
        raw = rendered.config(component)
        assert set(raw) == SECTIONS[component], component
        config = build_config(raw, env=env_of(rendered, component), source=f"{component}.yaml")
        settings = {"exporter": config.exporter, "actions": config.actions, "power": config.power}[component]
        workload = next(w for w in rendered.workloads() if w["metadata"]["name"] == WORKLOAD[component])
        ports = {p["name"]: p["containerPort"] for p in workload["spec"]["template"]["spec"]["containers"][0]["ports"]}
        assert ports == {"http": settings.port, **({"metrics": settings.metrics_port} if settings.metrics_port else {})}
        service = rendered.get("Service", WORKLOAD[component])
        assert service["spec"]["ports"] == [{"name": name, "port": port, "targetPort": name, "protocol": "TCP"}
                                            for name, port in ports.items()]


def test_without_its_secret_a_component_would_refuse_the_config():
    """The loader really checks secrets: the ENTSO-E zones need the token the chart mounts."""
    from gridshift.config import ConfigError

    rendered = render(COMBINATIONS["tokens-inline"])
    with pytest.raises(ConfigError, match="ENTSOE_API_KEY"):
        build_config(rendered.config("exporter"), env={})
    assert secrets.ENTSOE_API_KEY not in env_of(rendered, "actions")  # the action service never gets it


def test_the_chart_fills_in_what_it_knows():
    rendered = render(COMBINATIONS["everything"])
    actions = rendered.config("actions")["actions"]
    assert actions["exporter_url"] == EXPORTER_URL
    assert actions["karmada_clusters"] == {"member-de": "DE_LU"}
    assert actions["alertmanager_url"] == "http://alertmanager.monitoring.svc:9093"
    assert actions["dry_run"] is True
    power = rendered.config("power")["power"]
    assert power["intensity"]["url"] == EXPORTER_URL
    assert power["kepler"] == {"namespace": "kepler", "service": "kepler"}  # Kepler's chart as its docs install it
    assert power["estimator"] == {"enabled": False}
    assert rendered.config("exporter")["grid"]["static"] == {"zones": {"ONPREM": 250}}
    assert rendered.config("power")["cluster"] == rendered.config("actions")["cluster"] == {
        "default_zone": "ONPREM", "region_to_zone": {}}


def kepler_service(**kepler: str) -> str:
    return render({"power": {"enabled": True}, "kepler": {"enabled": True, **kepler}}).config("power")["power"]["kepler"]["service"]


def test_the_kepler_service_name_follows_the_kepler_charts_naming():
    # Kepler's kepler.fullname: its release name when it contains "kepler", else <release>-kepler
    assert kepler_service(release="kepler-green") == "kepler-green"
    assert kepler_service(release="prod") == "prod-kepler"
    assert kepler_service(release="prod", nameOverride="power") == "prod-power"
    assert kepler_service(release="prod", fullnameOverride="exporter") == "exporter"


def alertmanager_url(values: dict) -> str:
    return render(values).config("actions")["actions"]["alertmanager_url"]


def test_the_action_service_asks_kube_prometheus_stacks_alertmanager():
    # kps names its Service <fullname>-alertmanager: the release if it contains the chart's name,
    # else <release>-kube-prometheus-stack, cut to 26 characters
    assert alertmanager_url({"kubePrometheusStack": {"release": "kube-prometheus-stack"}}) == (
        "http://kube-prometheus-stack-alertmanager.monitoring.svc:9093")
    assert alertmanager_url({"kubePrometheusStack": {"release": "monitoring", "namespace": "obs"}}) == (
        "http://monitoring-kube-prometheus-alertmanager.obs.svc:9093")
    assert alertmanager_url({"kubePrometheusStack": {"release": "kps", "alertmanagerURL": "http://am.obs.svc:9093"}}) == (
        "http://am.obs.svc:9093")
    given = {"kubePrometheusStack": {"release": "kps"}, "config": {"actions": {"alertmanager_url": "http://mine:9093"}}}
    assert alertmanager_url(given) == "http://mine:9093"
    assert alertmanager_url({}) == ""  # no Alertmanager known: webhook only
    build_config(render({"kubePrometheusStack": {"release": "kps"}}).config("actions"), env={})  # a URL gridshift accepts


def test_the_estimator_switch_and_the_user_kepler_are_kept():
    assert render(COMBINATIONS["estimator"]).config("power")["power"]["estimator"] == {"enabled": True}
    assert "kepler" not in render(COMBINATIONS["estimator"]).config("power")["power"]
    assert render(COMBINATIONS["kepler-external"]).config("power")["power"]["kepler"]["service"] == "kepler-exporter"


def test_a_config_change_rolls_the_pods():
    before = render().get("Deployment", "gridshift-actions")["spec"]["template"]["metadata"]["annotations"]
    after = render({"config": {"actions": {"dry_run": True}}}).get("Deployment", "gridshift-actions")
    assert after["spec"]["template"]["metadata"]["annotations"]["checksum/config"] != before["checksum/config"]
    exporter = render({"config": {"actions": {"dry_run": True}}}).get("Deployment", "gridshift-exporter")
    assert (exporter["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            == render().get("Deployment", "gridshift-exporter")["spec"]["template"]["metadata"]["annotations"]["checksum/config"])


@pytest.mark.parametrize("combination", ["defaults", "estimator"])
def test_container_arguments_are_gridshift_subcommands(combination):
    for workload in render(COMBINATIONS[combination]).workloads():
        args = workload["spec"]["template"]["spec"]["containers"][0]["args"]
        parsed = _parser().parse_args(args)  # argparse exits on an unknown subcommand or option
        assert parsed.config == args[2] and callable(parsed.run)


@pytest.mark.parametrize("combination", ["defaults", "target-namespaces"])
def test_the_uninstall_hook_runs_gridshift_actions_restore(combination):
    rendered = render(COMBINATIONS[combination])
    job = rendered.get("Job", "gridshift-restore")
    [container] = job["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args == ["actions", "restore", "--all", "--stop-service", "gridshift-actions", "--config",
                    "/etc/gridshift/actions.yaml"]
    parsed = _parser().parse_args(args)  # the CLI's own parser: exits on an unknown option
    assert callable(parsed.run) and parsed.stop_service == rendered.get("Deployment", "gridshift-actions")["metadata"]["name"]
    # the same configuration file as the action service, which loads; --all keeps to the target namespaces
    volume = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}["config"]
    assert volume["configMap"] == {"name": "gridshift-config", "items": [{"key": "actions.yaml", "path": "actions.yaml"}]}
    config = build_config(rendered.config("actions"), env={}, role="actions")
    assert config.actions.target_namespaces == tuple(COMBINATIONS[combination].get("rbac", {}).get("targetNamespaces", ()))
