"""Karmada: `migrate` retargets the PropagationPolicy that places a workload to the member
clusters of the greenest zone, in one guarded patch, and puts it back when the alert resolves.

Aspects: the retargeting patch and its state; restore; no greener member cluster -> fallback;
without `actions.karmada_clusters` the policy is not even listed (no Karmada RBAC needed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from gridshift.actions.app import build_action_service
from gridshift.config import build_config
from tests.kube_emulator import make_api_client, running_emulator

RESOURCE = "policy.karmada.io/v1alpha1/propagationpolicies"
TOKEN = "karmada-test-token"


def firing(zone: str, level: str = "high", status: str = "firing") -> dict:
    return {"version": "4", "status": status, "receiver": "gridshift", "groupLabels": {"zone": zone},
            "alerts": [{"status": status, "labels": {"alertname": "GridCarbonIntensityHigh", "zone": zone, "level": level,
                                                     "severity": "warning"},
                        "annotations": {}, "startsAt": "2026-11-25T09:00:00Z",
                        "endsAt": "2026-11-25T10:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                        "fingerprint": f"fp-{zone}"}]}


@pytest.fixture
def cluster(httpserver) -> Iterator[tuple]:
    intensities = {"DE_LU": 480.0, "FR": 60.0, "PL": 700.0}
    for zone, grams in intensities.items():
        httpserver.expect_request("/api/v1/intensity", query_string=f"zone={zone}").respond_with_json(
            {"zone": zone, "values": [{"source": "entsoe", "basis": "production", "grams_per_kwh": grams,
                                       "timestamp": "2026-11-25T09:00:00Z", "forecast": False}]})
    with running_emulator() as emu:
        emu.resources[RESOURCE] = {}
        emu.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": "batch", "annotations": {"gridshift.io/action": "migrate", "gridshift.io/zone": "DE_LU"}}})
        emu.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "train", "namespace": "batch"},
                 "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "train"}},
                          "template": {"metadata": {"labels": {"app": "train"}},
                                       "spec": {"containers": [{"name": "c", "image": "trainer"}]}}}})
        emu.objects[RESOURCE, "batch", "train"] = {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
            "metadata": {"name": "train", "namespace": "batch", "resourceVersion": "7"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "train"}],
                     "placement": {"clusterAffinity": {"clusterNames": ["member-de"]}}}}
        config = build_config({"actions": {"exporter_url": httpserver.url_for("").rstrip("/"), "karmada_clusters": {
            "member-de": "DE_LU", "member-fr": "FR", "member-fr2": "FR", "member-pl": "PL"}}},
            env={"GRIDSHIFT_WEBHOOK_TOKEN": TOKEN})
        with make_api_client(emu.base_url) as api:
            service = build_action_service(config, api_client=api)
            yield emu, service


def post(service, payload: dict) -> None:
    answer = service.app.test_client().post("/api/v1/alerts", json=payload, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.json


def test_migrate_retargets_the_propagation_policy_and_restores_it(cluster):
    emu, service = cluster
    post(service, firing("DE_LU"))
    service.reconciler.run_pass()
    policy = emu.objects[RESOURCE, "batch", "train"].raw
    assert policy["spec"]["placement"]["clusterAffinity"] == {"clusterNames": ["member-fr", "member-fr2"]}
    state = json.loads(policy["metadata"]["annotations"]["gridshift.io/state"])
    assert state["original"] == {"/spec/placement/clusterAffinity": {"clusterNames": ["member-de"]}}
    assert state["targetZone"] == "FR"
    deployment = emu.state("apps/v1/deployments", "batch", "train")
    assert "affinity" not in deployment["spec"]["template"]["spec"]  # Karmada moves it; no node affinity
    patches = [r for r in emu["patch"] if r.resource.plural == "propagationpolicies"]
    assert len(patches) == 1 and patches[0].data[0]["op"] == "test"

    post(service, firing("DE_LU", status="resolved"))
    service.reconciler.run_pass()
    policy = emu.objects[RESOURCE, "batch", "train"].raw
    assert policy["spec"]["placement"]["clusterAffinity"] == {"clusterNames": ["member-de"]}
    assert "gridshift.io/state" not in (policy["metadata"].get("annotations") or {})


def test_no_karmada_clusters_configured_means_no_karmada_calls(cluster):
    emu, _service = cluster
    config = build_config({}, env={"GRIDSHIFT_WEBHOOK_TOKEN": TOKEN})
    calls: list[tuple[str, str, str]] = []
    with make_api_client(emu.base_url) as api:
        service = build_action_service(config, api_client=api, on_kube_call=lambda *call: calls.append(call))
        post(service, firing("DE_LU"))
        service.reconciler.run_pass()
    assert not any(group == "policy.karmada.io" for _verb, group, _resource in calls)
