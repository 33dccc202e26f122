"""What platform teams add to the pods: proxies and CA bundles, priority, spread, identity, digest.

Aspects: each component's extraEnv comes after the chart's own variables and its extraVolumes and
extraVolumeMounts after the chart's own (the uninstall hook, which runs as the action service,
gets the action service's); priorityClassName and topologySpreadConstraints reach each
component's pod, a constraint without a labelSelector spreading that component's own pods (not
the hook's one pod); serviceAccount.annotations reach every ServiceAccount, a component's own
merged over them; image.digest gives repository@digest for every container; none of it is
rendered when unset; the schema refuses malformed entries. Every object of the "extras"
combination is also validated by test_render.py (kubernetes-validate, helm lint) like the others.
"""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.chart.render import CA_BUNDLE, COMBINATIONS, DIGEST, EXTRAS, chart, render

WORKLOADS = {"gridshift-exporter": "exporter", "gridshift-actions": "actions", "gridshift-power": "power"}


def pod_specs(rendered):
    for workload in rendered.workloads():
        yield WORKLOADS[workload["metadata"]["name"]], workload["spec"]["template"]["spec"]


def test_extra_env_volumes_and_mounts_follow_the_charts_own():
    rendered = render(COMBINATIONS["extras"])
    plain = {component: pod for component, pod in pod_specs(render({"power": {"enabled": True}}))}
    seen = set()
    for component, pod in pod_specs(rendered):
        seen.add(component)
        (container,) = pod["containers"]
        (before,) = plain[component]["containers"]
        assert container.get("env", []) == before.get("env", []) + EXTRAS["extraEnv"], component
        assert pod["volumes"] == plain[component]["volumes"] + EXTRAS["extraVolumes"], component
        assert container["volumeMounts"] == before["volumeMounts"] + EXTRAS["extraVolumeMounts"], component
        env = {e["name"]: e.get("value") for e in container["env"]}
        mounted = {m["mountPath"] for m in container["volumeMounts"]}
        assert env["REQUESTS_CA_BUNDLE"] == CA_BUNDLE and "/etc/ssl/custom" in mounted, component
    assert seen == {"exporter", "actions", "power"}


def test_the_uninstall_hook_gets_the_action_services_extras_but_no_spread():
    pod = render(COMBINATIONS["extras"]).get("Job", "gridshift-restore")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["env"][-len(EXTRAS["extraEnv"]):] == EXTRAS["extraEnv"]
    assert container["volumeMounts"][-1] == EXTRAS["extraVolumeMounts"][0]
    assert pod["volumes"][-1] == EXTRAS["extraVolumes"][0]
    assert pod["priorityClassName"] == "gridshift-high"
    assert "topologySpreadConstraints" not in pod


def test_priority_and_spread_reach_each_components_pods():
    for component, pod in pod_specs(render(COMBINATIONS["extras"])):
        assert pod["priorityClassName"] == "gridshift-high", component
        (constraint,) = pod["topologySpreadConstraints"]
        assert {k: constraint[k] for k in ("maxSkew", "topologyKey", "whenUnsatisfiable")} == EXTRAS["topologySpreadConstraints"][0]
        # without a labelSelector: this component's own pods, which the Deployment selects
        assert constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == component
        workload = next(w for w in render(COMBINATIONS["extras"]).workloads() if WORKLOADS[w["metadata"]["name"]] == component)
        assert constraint["labelSelector"]["matchLabels"] == workload["spec"]["selector"]["matchLabels"]


def test_a_spread_with_its_own_label_selector_is_kept():
    mine = {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"tier": "gridshift"}}}
    pod = render({"actions": {"topologySpreadConstraints": [mine]}}).get("Deployment", "gridshift-actions")["spec"]["template"]["spec"]
    assert pod["topologySpreadConstraints"] == [mine]


def test_service_account_annotations_with_a_components_own_over_them():
    rendered = render(COMBINATIONS["extras"])
    role = {a["metadata"]["name"]: a["metadata"].get("annotations", {})["eks.amazonaws.com/role-arn"]
            for a in rendered.of_kind("ServiceAccount")}
    assert role == {"gridshift-exporter": "arn:aws:iam::123456789012:role/gridshift",
                    "gridshift-actions": "arn:aws:iam::123456789012:role/gridshift",
                    "gridshift-power": "arn:aws:iam::123456789012:role/gridshift-power"}
    for account in rendered.of_kind("ServiceAccount"):
        assert account["automountServiceAccountToken"] is False  # each pod still says whether it needs a token


def test_an_image_digest_is_used_instead_of_the_tag():
    rendered = render(COMBINATIONS["extras"])
    images = {c["image"] for _, pod in pod_specs(rendered) for c in pod["containers"]}
    images |= {c["image"] for c in rendered.get("Job", "gridshift-restore")["spec"]["template"]["spec"]["containers"]}
    assert images == {f"registry.example.com/gridshift@{DIGEST}"}
    tagged = render({"image": {"tag": "1.2.3", "digest": DIGEST}}).get("Deployment", "gridshift-exporter")
    assert tagged["spec"]["template"]["spec"]["containers"][0]["image"] == f"gridshift@{DIGEST}"
    assert render({"image": {"tag": "1.2.3"}}).get("Deployment", "gridshift-exporter")[
        "spec"]["template"]["spec"]["containers"][0]["image"] == "gridshift:1.2.3"


def test_nothing_extra_by_default():
    rendered = render()
    for component, pod in pod_specs(rendered):
        assert "priorityClassName" not in pod and "topologySpreadConstraints" not in pod, component
        assert {v["name"] for v in pod["volumes"]} <= {"config", "tmp", "webhook-token", "entsoe", "electricitymaps"}
    assert all("annotations" not in a["metadata"] for a in rendered.of_kind("ServiceAccount"))


BAD = [
    ({"image": {"digest": "latest"}}, "at '/image/digest'"),
    ({"image": {"digest": "sha256:abc"}}, "at '/image/digest'"),
    ({"exporter": {"extraEnv": [{"value": "x"}]}}, "at '/exporter/extraEnv/0': missing property 'name'"),
    ({"actions": {"extraEnv": [{"name": "A", "secretKeyRef": {}}]}}, "at '/actions/extraEnv/0': additional properties 'secretKeyRef' not allowed"),
    ({"power": {"extraVolumeMounts": [{"name": "ca"}]}}, "at '/power/extraVolumeMounts/0': missing property 'mountPath'"),
    ({"actions": {"extraVolumes": [{"name": "ca"}]}}, "at '/actions/extraVolumes/0'"),
    ({"exporter": {"priorityClassName": "High Priority"}}, "at '/exporter/priorityClassName'"),
    ({"actions": {"topologySpreadConstraints": [{"maxSkew": 1}]}}, "at '/actions/topologySpreadConstraints/0': missing properties 'topologyKey', 'whenUnsatisfiable'"),
    ({"serviceAccount": {"annotations": {"a": 1}}}, "at '/serviceAccount/annotations/a': got number, want string"),
    ({"serviceAccount": {"name": "mine"}}, "at '/serviceAccount': additional properties 'name' not allowed"),
]


@pytest.mark.parametrize(("values", "message"), BAD, ids=[m for _, m in BAD])
def test_malformed_extras_are_refused_with_the_key_named(values, message):
    with pytest.raises(helm.HelmValuesError) as refused:
        chart().validate_schema(values)
    assert message in str(refused.value), str(refused.value)
