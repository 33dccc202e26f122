"""Every gridshift pod runs locked down, and each is handed only the secrets it uses.

Aspects, for every workload in every value combination: non-root numeric user, read-only root
filesystem, all capabilities dropped and none added, no privilege escalation, RuntimeDefault
seccomp, no host network or host paths (hostPID only for the estimator); /healthz liveness and
/readyz readiness on the serving port; resources requested and memory limited; the API token
mounted only where the component calls the API; secrets as files (`*_FILE`), never as env
values or in the ConfigMap; the action service a single replica replaced, not rolled; the
NetworkPolicies admit Alertmanager (and Prometheus) to the webhook and nothing else.
"""

from __future__ import annotations

import pytest

from gridshift import secrets
from tests.chart.render import COMBINATIONS, render

ROLES = {"exporter": 9500, "actions": 9600, "power-exporter": 9501}


def pods(combination: str):
    rendered = render(COMBINATIONS[combination])
    for workload in rendered.workloads():
        yield workload["metadata"]["name"], workload["spec"]["template"]["spec"]


def assert_locked_down(name: str, pod: dict, *, host_pid: bool = False) -> None:
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] > 0, name
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
    assert not pod.get("hostNetwork") and not pod.get("hostIPC"), name
    assert pod.get("hostPID", False) == host_pid, name
    assert not [v for v in pod["volumes"] if "hostPath" in v], name
    for container in pod.get("initContainers", []) + pod["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, name
        assert sc["readOnlyRootFilesystem"] is True, name
        assert sc["capabilities"] == {"drop": ["ALL"]}, name
        assert sc["privileged"] is False, name
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0, name
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_every_container_is_locked_down(combination):
    for name, pod in pods(combination):
        assert_locked_down(name, pod, host_pid=name == "gridshift-power" and combination == "estimator")


@pytest.mark.parametrize("combination", ["defaults", "target-namespaces"])
def test_the_uninstall_hook_is_locked_down_bounded_and_uses_the_action_services_account(combination):
    rendered = render(COMBINATIONS[combination])
    job = rendered.get("Job", "gridshift-restore")
    assert job["metadata"]["annotations"] == {"helm.sh/hook": "pre-delete",
                                              "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}
    assert job["spec"]["backoffLimit"] == 2 and job["spec"]["activeDeadlineSeconds"] == 600
    pod = job["spec"]["template"]["spec"]
    assert_locked_down("gridshift-restore", pod)
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "gridshift-actions" and pod["automountServiceAccountToken"] is True
    actions = rendered.get("Deployment", "gridshift-actions")["spec"]["template"]["spec"]["containers"][0]
    for container in pod["containers"]:
        assert container["image"] == actions["image"]
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert "env" not in container or all("secret" not in str(e).lower() for e in container["env"])
    assert not [v for v in pod["volumes"] if "secret" in v]  # restoring needs no webhook token
    assert not render({"restoreOnUninstall": {"enabled": False}}).of_kind("Job")


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_probes_resources_and_one_image(combination):
    images = set()
    for name, pod in pods(combination):
        (container,) = pod["containers"]
        images.add(container["image"])
        role = container["args"][0]
        assert role in ROLES and container["args"][1:3] == ["--config", f"/etc/gridshift/{role.split('-')[0]}.yaml"], name
        section = {"exporter": "exporter", "actions": "actions", "power-exporter": "power"}[role]
        metrics_port = COMBINATIONS[combination].get("config", {}).get(section, {}).get("metrics_port")
        assert container["ports"] == [{"name": "http", "containerPort": ROLES[role], "protocol": "TCP"}] + (
            [{"name": "metrics", "containerPort": metrics_port, "protocol": "TCP"}] if metrics_port else []), name
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"], name
        assert container["resources"]["limits"]["memory"], name
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts["/etc/gridshift"]["readOnly"] is True and "/tmp" in mounts, name
    assert len(images) == 1, images


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_only_components_that_call_the_api_get_a_token(combination):
    for name, pod in pods(combination):
        assert pod["automountServiceAccountToken"] is (name != "gridshift-exporter"), name


def secret_mounts(pod) -> dict[str, tuple[str, str]]:
    """env var -> (Secret name, key) through the *_FILE path and the Secret volume mounted there."""
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    found = {}
    for env in container.get("env", []):
        assert "secretKeyRef" not in env.get("valueFrom", {}), env  # files, not env values
        if env["name"].endswith("_FILE"):
            directory, key = env["value"].rsplit("/", 1)
            volume = volumes[mounts[directory]]
            found[env["name"].removesuffix("_FILE")] = (volume["secret"]["secretName"], key)
            assert volume["secret"]["defaultMode"] == 0o440
    return found


def test_each_pod_gets_only_its_own_secrets():
    rendered = render(COMBINATIONS["tokens-inline"])
    by_pod = {w["metadata"]["name"]: secret_mounts(w["spec"]["template"]["spec"]) for w in rendered.workloads()}
    assert by_pod["gridshift-exporter"] == {secrets.ENTSOE_API_KEY: ("gridshift-entsoe", "api-key"),
                                            secrets.ELECTRICITYMAPS_TOKEN: ("gridshift-electricitymaps", "token")}
    assert by_pod["gridshift-actions"] == {secrets.WEBHOOK_TOKEN: ("gridshift-webhook-token", "token")}
    for name, mounted in by_pod.items():
        for secret_name, key in mounted.values():
            assert key in rendered.get("Secret", secret_name)["data"], (name, secret_name)


def test_existing_secrets_are_mounted_by_name_and_key_and_not_rendered():
    rendered = render(COMBINATIONS["existing-secrets"])
    by_pod = {w["metadata"]["name"]: secret_mounts(w["spec"]["template"]["spec"]) for w in rendered.workloads()}
    assert by_pod["gridshift-exporter"] == {secrets.ENTSOE_API_KEY: ("my-entsoe", "key")}
    assert by_pod["gridshift-actions"] == {secrets.WEBHOOK_TOKEN: ("my-webhook", "bearer")}
    assert not rendered.of_kind("Secret")


def test_no_secret_value_reaches_the_configmap_or_the_pod_specs():
    rendered = render(COMBINATIONS["tokens-inline"])
    tokens = ("inline-webhook-token-0123456789", "inline-entsoe-key", "inline-emaps-token")
    for obj in rendered.objects:
        if obj["kind"] != "Secret":
            text = str(obj)
            assert not [t for t in tokens if t in text], obj["metadata"]["name"]


def test_the_action_service_is_one_replica_replaced_not_rolled():
    deployment = render().get("Deployment", "gridshift-actions")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    # the release's namespace is protected from actions (docs/configuration.md)
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"


def test_only_alertmanager_and_prometheus_reach_the_action_service():
    rendered = render()
    policy = rendered.get("NetworkPolicy", "gridshift-actions")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "actions"
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
         "podSelector": {"matchLabels": {"app.kubernetes.io/name": "alertmanager"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
         "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}},
    ]


def test_the_default_peers_follow_kube_prometheus_stacks_namespace():
    policy = render({"kubePrometheusStack": {"release": "kps", "namespace": "observability"}}).get(
        "NetworkPolicy", "gridshift-actions")
    namespaces = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in policy["spec"]["ingress"][0]["from"]}
    assert namespaces == {"observability"}


def test_the_alertmanager_selector_is_configurable():
    custom = {"namespaceSelector": {"matchLabels": {"team": "observability"}},
              "podSelector": {"matchLabels": {"alertmanager": "main"}}}
    policy = render({"networkPolicy": {"alertmanager": [custom]}}).get("NetworkPolicy", "gridshift-actions")
    assert policy["spec"]["ingress"][0]["from"][0] == custom  # replaced, not merged with the default


def test_the_grid_exporter_admits_prometheus_and_gridshifts_own_pods():
    policy = render(COMBINATIONS["kepler"]).get("NetworkPolicy", "gridshift-exporter")
    peers = policy["spec"]["ingress"][0]["from"]
    own = [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in peers if "namespaceSelector" not in p]
    assert sorted(own) == ["actions", "power"]
    assert len(peers) == 3
