"""The chart grants each ServiceAccount exactly the Kubernetes calls its component makes.

Aspects: the action service's grants equal actions/kube/client.py VERBS (plus KARMADA_VERBS with
karmada.enabled, and not without), cluster-wide, or with rbac.targetNamespaces only in those
namespaces, reads of pods and workloads included (only namespaces and nodes stay cluster-wide); the power exporter's grants equal the requests it really sends in each
mode (Kepler discovery, static targets, estimator), recorded from the exporter itself running
one cycle against a local API server; no wildcard, no Secret access, no grant to the grid
exporter, which calls no API. A missing or surplus verb fails.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gridshift.actions.kube.client import KARMADA_VERBS, VERBS
from tests.chart.render import COMBINATIONS, NAMESPACE, Rendered, render

CLUSTER = "*cluster*"

Grant = tuple[str, str, str, str]  # (api group, resource, verb, namespace or CLUSTER)


def grants(rendered: Rendered, service_account: str, *, named: bool = False) -> set[Grant]:
    """Every (group, resource, verb, scope) the ServiceAccount gets through the rendered bindings; with
    `named`, instead, the grants limited to named objects, as (group, resource/name, verb, scope)."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
             for o in rendered.objects if o["kind"] in ("Role", "ClusterRole")}
    found: set[Grant] = set()
    for binding in rendered.objects:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if {"kind": "ServiceAccount", "name": service_account, "namespace": NAMESPACE} not in binding["subjects"]:
            continue
        ref = binding["roleRef"]
        scope = CLUSTER if binding["kind"] == "ClusterRoleBinding" else binding["metadata"]["namespace"]
        namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], namespace, ref["name"]))
        assert role is not None, f"{binding['metadata']['name']} refers to {ref}, which is not rendered"
        for rule in role["rules"]:
            assert "nonResourceURLs" not in rule, rule
            if ("resourceNames" in rule) != named:
                continue
            resources = [f"{r}/{n}" for r in rule["resources"] for n in rule["resourceNames"]] if named else rule["resources"]
            found |= {(group, resource, verb, scope)
                      for group in rule["apiGroups"] for resource in resources for verb in rule["verbs"]}
    return found


def expected(verbs: dict[tuple[str, str], frozenset[str]], scope: str = CLUSTER) -> set[Grant]:
    return {(group, resource, verb, scope) for (group, resource), names in verbs.items() for verb in names}


def diff(granted: set[Grant], wanted: set[Grant]) -> str:
    return f"surplus: {sorted(granted - wanted)}\nmissing: {sorted(wanted - granted)}"


def test_the_action_service_gets_exactly_its_verbs_cluster_wide():
    granted = grants(render(), "gridshift-actions")
    assert granted == expected(VERBS), diff(granted, expected(VERBS))


def test_karmada_verbs_only_with_karmada_enabled():
    granted = grants(render(COMBINATIONS["karmada"]), "gridshift-actions")
    wanted = expected(VERBS) | expected(KARMADA_VERBS)
    assert granted == wanted, diff(granted, wanted)
    assert not {g for g in grants(render(), "gridshift-actions") if g[0] == "policy.karmada.io"}


# What the action service must read across namespaces: which namespaces opted in (their
# annotations) and which zone each node is in. Everything else is per namespace.
CLUSTER_WIDE = {("", "namespaces"), ("", "nodes")}


@pytest.mark.parametrize("combination", ["target-namespaces", "target-namespaces-karmada"])
def test_target_namespaces_limit_reads_and_writes_to_those_namespaces(combination):
    values = COMBINATIONS.get(combination) or {**COMBINATIONS["target-namespaces"], **COMBINATIONS["karmada"]}
    rendered = render(values)
    verbs = {**VERBS, **(KARMADA_VERBS if values.get("karmada", {}).get("enabled") else {})}
    granted = grants(rendered, "gridshift-actions")
    wanted = {(g, r, v, CLUSTER if (g, r) in CLUSTER_WIDE else namespace)
              for (g, r), names in verbs.items() for v in names - {"watch"} for namespace in ("team-a", "team-b")}
    assert granted == wanted, diff(granted, wanted)
    assert CLUSTER_WIDE <= set(VERBS)  # the code still makes these calls
    cluster_wide = {(g, r, v) for g, r, v, scope in granted if scope == CLUSTER}
    # no cluster-wide list of pods or workloads, and no watch: the watch cache runs cluster-wide only
    assert cluster_wide == {(g, r, "list") for g, r in CLUSTER_WIDE}, "no cluster-wide list of pods or workloads"
    assert [b["metadata"]["namespace"] for b in rendered.of_kind("RoleBinding")
            if b["roleRef"]["name"] == "gridshift-actions-workloads"] == ["team-a", "team-b"]


@pytest.mark.parametrize("combination", ["defaults", "target-namespaces"])
def test_the_uninstall_hook_may_stop_only_this_releases_action_service(combination):
    """`actions restore --stop-service` (actions/quiesce.py) gets and patches one Deployment: the service's."""
    rendered = render(COMBINATIONS[combination])
    assert grants(rendered, "gridshift-actions", named=True) == {
        ("apps", "deployments/gridshift-actions", verb, NAMESPACE) for verb in ("get", "patch")}
    assert not grants(render({**COMBINATIONS[combination], "restoreOnUninstall": {"enabled": False}}),
                      "gridshift-actions", named=True)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_no_wildcards_no_secrets_and_nothing_for_the_grid_exporter(combination):
    rendered = render(COMBINATIONS[combination])
    for role in rendered.objects:
        if role["kind"] in ("Role", "ClusterRole"):
            for rule in role["rules"]:
                flat = rule["apiGroups"] + rule["resources"] + rule["verbs"]
                assert "*" not in flat, (role["metadata"]["name"], rule)
                assert "secrets" not in rule["resources"], (role["metadata"]["name"], rule)
    assert grants(rendered, "gridshift-exporter") == set()
    assert rendered.get("ServiceAccount", "gridshift-exporter")["automountServiceAccountToken"] is False


# ---------------------------------------------------------------------------------------------
# The power exporter: its requests recorded against a local API server, per mode.

class RecordingApi:
    """Answers every list with an empty list and records (group, resource, verb, scope)."""

    PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/(?P<namespace>[^/]+))?/(?P<resource>[^/]+)$")

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.calls: set[Grant] = set()
        self.unexpected: list[str] = []
        server.expect_request(re.compile("^/.*$")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        match = self.PATH.match(request.path)
        if request.method != "GET" or not match:
            self.unexpected.append(f"{request.method} {request.path}")
            return Response("{}", status=404, content_type="application/json")
        self.calls.add((match["group"] or "", match["resource"], "list", match["namespace"] or CLUSTER))
        return Response('{"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []}', content_type="application/json")


@pytest.fixture
def recording_api(httpserver: HTTPServer) -> Iterator[RecordingApi]:
    yield RecordingApi(httpserver)


def run_one_power_cycle(rendered: Rendered, api: RecordingApi) -> set[Grant]:
    from kubernetes import client

    from gridshift.config import build_config
    from gridshift.exporters.power.app import build_power_exporter

    config = build_config(rendered.config("power"), env={})
    # no intensity lookups: they would go to the in-cluster exporter's address
    power = dataclasses.replace(config.power, intensity=dataclasses.replace(config.power.intensity, url=""),
                                estimator=dataclasses.replace(config.power.estimator, node_name="node-1"))
    configuration = client.Configuration()
    configuration.host = api.server.url_for("").rstrip("/")
    exporter = build_power_exporter(power, kube_api_client=client.ApiClient(configuration), cluster=config.cluster)
    exporter.refresher.run_cycle()
    assert not api.unexpected, api.unexpected
    return api.calls


POWER_MODES: dict[str, dict[str, Any]] = {
    "kepler (subchart)": COMBINATIONS["kepler"],
    "kepler (your own)": COMBINATIONS["kepler-external"],
    "kepler (static targets)": {"power": {"enabled": True},
                                "config": {"power": {"kepler": {"static_targets": {"node-1": "http://127.0.0.1:1/metrics"}}}}},
    "estimator": COMBINATIONS["estimator"],
}


@pytest.mark.parametrize("mode", POWER_MODES)
def test_the_power_exporter_gets_exactly_what_it_requests(mode, recording_api):
    rendered = render(POWER_MODES[mode])
    calls = run_one_power_cycle(rendered, recording_api)
    granted = grants(rendered, "gridshift-power")
    assert calls, "the exporter made no Kubernetes request at all"
    assert granted == calls, diff(granted, calls)


def test_the_power_exporter_lists_endpointslices_where_kepler_runs():
    rendered = render(COMBINATIONS["kepler-external"])
    role = rendered.get("Role", "gridshift-power-kepler")
    assert role["metadata"]["namespace"] == "monitoring-kepler"
    assert yaml.safe_load(rendered.get("ConfigMap", "gridshift-config")["data"]["power.yaml"])["power"]["kepler"] == {
        "namespace": "monitoring-kepler", "service": "kepler-exporter"}
