"""The Kubernetes calls the action service makes are exactly those listed in kube/client.py's VERBS.

Covers: over a full scenario (every kind held and restored, zones from pods, migrate, an HPA, a KEDA
ScaledObject, Events, a conflict on every kind so the re-read `get` runs) every (verb, group, resource) the service calls,
recorded through build_action_service(on_kube_call=...), is in VERBS, and every entry of VERBS is
exercised, so the chart's RBAC can be derived from VERBS alone. With Karmada configured, the extra
calls are exactly KARMADA_VERBS.
"""

from __future__ import annotations

from gridshift.actions.kube.client import KARMADA_VERBS, VERBS
from tests.actions.conftest import alert, resolved

HIGH = alert("DE_LU", "high")


def allowed(verbs) -> set[tuple[str, str, str]]:
    return {(verb, group, resource) for (group, resource), names in verbs.items() for verb in names}


def test_calls_are_exactly_the_verbs_listed(make_service, cluster, k8s, exporter):
    calls: set[tuple[str, str, str]] = set()
    service = make_service({"exporter_url": exporter.url}, on_kube_call=lambda *call: calls.add(call))
    cluster.node("de-1", zone="DE_LU")
    cluster.node("fr-1", zone="FR")
    exporter.intensity.update({"DE_LU": 400.0, "FR": 50.0})
    cluster.namespace("paused", {"gridshift.io/action": "pause"})  # no zone annotation: its pods are listed
    cluster.pod("paused", "web-1", "de-1")
    cluster.deployment("paused", "web")
    cluster.statefulset("paused", "db")
    cluster.cronjob("paused", "nightly")
    cluster.job("paused", "batch")
    cluster.namespace("scaled", {"gridshift.io/action": "scale-down", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("scaled", "api", replicas=4)
    cluster.hpa("scaled", "api", "api", min_replicas=4, max_replicas=10)
    cluster.namespace("moved", {"gridshift.io/action": "migrate", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("moved", "worker")
    cluster.keda()
    cluster.namespace("keda", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("keda", "consumer")
    cluster.scaled_object("keda", "consumer", "consumer")
    for resource in ("deployments", "statefulsets", "cronjobs", "jobs", "horizontalpodautoscalers", "scaledobjects"):
        k8s.inject("PATCH", resource, status=409)  # one conflict each: the re-read `get`
    service.notify(HIGH)
    service.reconcile()
    service.notify(resolved(HIGH))
    service.reconcile()
    assert all(cluster.state(kind, ns, name) is None for kind, ns, name in (
        ("Deployment", "paused", "web"), ("HorizontalPodAutoscaler", "scaled", "api"), ("Deployment", "moved", "worker"),
        ("ScaledObject", "keda", "consumer")))
    assert cluster.events("keda", "consumer", reason="GridshiftRestored")
    assert cluster.events("moved", "worker")  # the scenario really did act
    watched(service, calls)

    assert calls <= allowed(VERBS), calls - allowed(VERBS)
    assert calls == allowed(VERBS), allowed(VERBS) - calls


def watched(service, calls: set[tuple[str, str, str]]) -> None:
    """The watch cache, as `gridshift actions` starts it: a list and then a watch of each resource."""
    import time

    cache = service.service.cache
    cache.start()
    try:
        deadline = time.monotonic() + 10
        while sum(verb == "watch" for verb, _, _ in calls) < len(cache.informers) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        cache.stop()


def test_karmada_calls_are_exactly_the_karmada_verbs(make_service, cluster, k8s, exporter):
    resource = "policy.karmada.io/v1alpha1/propagationpolicies"
    calls: set[tuple[str, str, str]] = set()
    k8s.resources[resource] = {}
    service = make_service({"exporter_url": exporter.url, "karmada_clusters": {"member-de": "DE_LU", "member-fr": "FR"}},
                           on_kube_call=lambda *call: calls.add(call))
    exporter.intensity.update({"DE_LU": 400.0, "FR": 50.0})
    cluster.namespace("batch", {"gridshift.io/action": "migrate", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("batch", "train")
    k8s.objects[resource, "batch", "train"] = {
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
        "metadata": {"name": "train", "namespace": "batch", "resourceVersion": "7"},
        "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "train"}],
                 "placement": {"clusterAffinity": {"clusterNames": ["member-de"]}}}}
    k8s.inject("PATCH", "propagationpolicies", status=409)
    service.notify(HIGH)
    service.reconcile()
    assert k8s.objects[resource, "batch", "train"].raw["spec"]["placement"]["clusterAffinity"] == {
        "clusterNames": ["member-fr"]}
    watched(service, calls)
    karmada = {call for call in calls if call[1] == "policy.karmada.io"}
    assert karmada == allowed(KARMADA_VERBS)
    assert calls - karmada <= allowed(VERBS)
