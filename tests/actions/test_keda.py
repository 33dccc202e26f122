"""KEDA: a workload a ScaledObject scales is held through the ScaledObject's
`autoscaling.keda.sh/paused-replicas`, never by patching its replicas or KEDA's HPA.

Aspects, each against the emulator with ScaledObjects through the real kubernetes client:
- pause: paused-replicas "0" and the state in ONE guarded patch on the ScaledObject; the Deployment
  and KEDA's HPA (`keda-hpa-<name>`) are not written; restore removes both annotations; Events;
- scale-down: paused at the scaled-down count (rounded up, the floor kept), a StatefulSet target;
- a paused-replicas the user had set is kept in the state and put back; already paused at the
  target -> skipped with the reason, nothing written;
- a person's edit of paused-replicas while held wins (GridshiftLeftAsChanged);
- a ScaledObject without a target: a decision saying so, nothing written, the rest still held;
  a hold on one whose target was removed is undone; a corrupt state on one is left alone;
- no KEDA CRD (404 on the list): not an error, workloads are held as without KEDA;
- 409 on the ScaledObject patch -> re-read and held once; 5xx -> nothing changed, failed, retried;
- a namespace that opted out by removing its annotation still gets its ScaledObject restored;
- on-green scale-up leaves a KEDA-scaled workload to KEDA.
"""

from __future__ import annotations

import json

import pytest

from tests.actions.conftest import alert, resolved

HIGH = alert("DE_LU", "high")
LOW = alert("DE_LU", "low")
STATE = "gridshift.io/state"
PAUSED = "autoscaling.keda.sh/paused-replicas"
PAUSED_POINTER = "/metadata/annotations/autoscaling.keda.sh~1paused-replicas"


@pytest.fixture
def keda(cluster):
    """team-a opted in to `action`; Deployment web at 4 replicas, scaled by ScaledObject web-so, with KEDA's HPA."""
    cluster.keda()

    def build(action="pause", so_annotations=None, **namespace_annotations):
        cluster.namespace("team-a", {"gridshift.io/action": action, "gridshift.io/zone": "DE_LU",
                                     **{f"gridshift.io/{k.replace('_', '-')}": v for k, v in namespace_annotations.items()}})
        cluster.deployment("team-a", "web", replicas=4)
        cluster.hpa("team-a", "keda-hpa-web-so", "web", min_replicas=1, max_replicas=10)
        return cluster.scaled_object("team-a", "web-so", "web", annotations=so_annotations)
    return build


def annotations(cluster, name="web-so"):
    return cluster.annotations("ScaledObject", "team-a", name)


def written(cluster, since=0):
    return {(r.resource.plural, r.name) for r in cluster.patches(since=since)}


def test_pause_goes_through_the_scaled_object_in_one_guarded_patch(service, cluster, keda):
    before = keda("pause")
    deployment_rv = cluster.rv("Deployment", "team-a", "web")
    hpa_rv = cluster.rv("HorizontalPodAutoscaler", "team-a", "keda-hpa-web-so")
    service.notify(HIGH)
    service.reconcile()

    [patch] = cluster.patches()
    assert (patch.resource.plural, patch.name) == ("scaledobjects", "web-so")
    assert patch.params["fieldManager"] == "gridshift"
    assert patch.data[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": before["metadata"]["resourceVersion"]}
    held = annotations(cluster)
    assert held[PAUSED] == "0"
    state = json.loads(held[STATE])
    assert (state["action"], state["original"], state["applied"]) == ("pause", {PAUSED_POINTER: None}, {PAUSED_POINTER: "0"})
    # KEDA sizes the Deployment through its HPA: neither is written by gridshift
    assert cluster.rv("Deployment", "team-a", "web") == deployment_rv
    assert cluster.rv("HorizontalPodAutoscaler", "team-a", "keda-hpa-web-so") == hpa_rv
    assert cluster.events("team-a", "web-so", reason="GridshiftHeld")
    assert service.metric("gridshift_held_workloads", namespace="team-a", action="pause") == 1
    [decision] = [d for d in service.decisions() if d["decision"] == "hold"]
    assert "through KEDA ScaledObject web-so" in decision["reason"] and decision["result"] == "applied"

    service.reconcile()  # still held: nothing more
    assert len(cluster.patches()) == 1

    service.notify(resolved(HIGH))
    service.reconcile()
    assert annotations(cluster) == {}  # both annotations gone: KEDA autoscales again
    assert cluster.rv("Deployment", "team-a", "web") == deployment_rv
    assert cluster.rv("HorizontalPodAutoscaler", "team-a", "keda-hpa-web-so") == hpa_rv
    assert cluster.events("team-a", "web-so", reason="GridshiftRestored")


@pytest.mark.parametrize(("current", "factor", "floor", "expected"), [(4, "0.5", "1", "2"), (5, "0.5", "1", "3"),
                                                                      (8, "0.25", "3", "3")])
def test_scale_down_pauses_at_the_scaled_down_count(service, cluster, keda, current, factor, floor, expected):
    keda("scale-down", scale_factor=factor, min_replicas=floor)
    cluster.set("Deployment", "team-a", "web", lambda d: d["spec"].update(replicas=current))
    service.notify(HIGH)
    service.reconcile()
    assert annotations(cluster)[PAUSED] == expected
    assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == current
    assert written(cluster) == {("scaledobjects", "web-so")}


def test_scale_down_at_the_floor_is_skipped_with_the_reason(service, cluster, keda):
    keda("scale-down", min_replicas="4")
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches() == []
    [decision] = service.decisions()
    assert decision["result"] == "skipped" and "at or below the floor" in decision["reason"]


def test_a_statefulset_target_is_held_through_its_scaled_object(service, cluster):
    cluster.keda()
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.statefulset("team-a", "db", replicas=3)
    cluster.deployment("team-a", "db", replicas=2)  # same name, other kind: not the target
    cluster.scaled_object("team-a", "db-so", "db", target_kind="StatefulSet")
    service.notify(HIGH)
    service.reconcile()
    assert annotations(cluster, "db-so")[PAUSED] == "0"
    assert cluster.get("StatefulSet", "team-a", "db")["spec"]["replicas"] == 3
    assert cluster.get("Deployment", "team-a", "db")["spec"]["replicas"] == 0  # not KEDA's: held directly


def test_the_users_paused_replicas_is_kept_and_put_back(service, cluster, keda):
    keda("pause", so_annotations={PAUSED: "5", "team": "a"})
    service.notify(HIGH)
    service.reconcile()
    held = annotations(cluster)
    assert held[PAUSED] == "0"
    assert json.loads(held[STATE])["original"] == {PAUSED_POINTER: "5"}
    service.notify(resolved(HIGH))
    service.reconcile()
    assert annotations(cluster) == {PAUSED: "5", "team": "a"}


def test_already_paused_at_the_target_is_skipped(service, cluster, keda):
    keda("pause", so_annotations={PAUSED: "0"})
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches() == []
    [decision] = service.decisions()
    assert decision["result"] == "skipped" and "already pauses it at 0" in decision["reason"]


def test_a_persons_edit_of_paused_replicas_while_held_wins(service, cluster, keda):
    keda("pause")
    service.notify(HIGH)
    service.reconcile()
    cluster.set("ScaledObject", "team-a", "web-so", lambda so: so["metadata"]["annotations"].update({PAUSED: "2"}))
    service.notify(resolved(HIGH))
    service.reconcile()
    assert annotations(cluster) == {PAUSED: "2"}
    assert cluster.events("team-a", "web-so", reason="GridshiftLeftAsChanged")


def test_a_scaled_object_without_a_target_is_reported_and_left_alone(service, cluster, keda):
    keda("pause")
    cluster.deployment("team-a", "api", replicas=2)
    orphan = cluster.scaled_object("team-a", "api-so", None)
    cluster.scaled_object("team-a", "nameless-so", None)
    cluster.emu.objects["keda.sh/v1alpha1/scaledobjects", "team-a", "nameless-so"].raw["spec"]["scaleTargetRef"] = {
        "kind": "Deployment"}
    service.notify(HIGH)
    service.reconcile()

    assert cluster.get("ScaledObject", "team-a", "api-so") == orphan
    assert ("scaledobjects", "api-so") not in written(cluster) and ("scaledobjects", "nameless-so") not in written(cluster)
    reasons = {d["name"]: d["reason"] for d in service.decisions() if d["kind"] == "ScaledObject"}
    assert set(reasons) == {"api-so", "nameless-so"}
    assert all("has no spec.scaleTargetRef.name" in reason for reason in reasons.values())
    # the rest of the namespace is still held: api directly, web through its ScaledObject
    assert cluster.get("Deployment", "team-a", "api")["spec"]["replicas"] == 0
    assert annotations(cluster)[PAUSED] == "0"

    mark = len(service.decisions())
    service.reconcile()  # the same skip is not logged again at every pass
    assert len(service.decisions()) == mark


def test_a_hold_whose_target_was_removed_is_undone(service, cluster, keda):
    keda("pause")
    service.notify(HIGH)
    service.reconcile()
    cluster.set("ScaledObject", "team-a", "web-so", lambda so: so["spec"].pop("scaleTargetRef"))
    service.reconcile()
    assert annotations(cluster) == {}
    [decision] = [d for d in service.decisions() if d["decision"] == "restore"]
    assert decision["result"] == "restored" and "names no workload" in decision["reason"]


def test_a_corrupt_state_on_a_scaled_object_is_left_alone(service, cluster, keda):
    keda("pause", so_annotations={STATE: "{not json", PAUSED: "0"})
    service.notify(HIGH)
    service.reconcile()
    assert written(cluster) == set()
    assert annotations(cluster) == {STATE: "{not json", PAUSED: "0"}
    [decision] = [d for d in service.decisions() if d["name"] == "web"]
    assert decision["result"] == "skipped" and "not JSON" in decision["reason"]


def test_without_the_keda_crd_workloads_are_held_as_before(service, cluster):
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=4)
    mark = cluster.mark()
    service.notify(HIGH)
    service.reconcile()
    lists = [r for r in cluster.requests(mark) if r.resource is not None and r.resource.plural == "scaledobjects"]
    assert [r.method.value.upper() for r in lists] == ["GET"]  # it did look, and got the 404
    assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0
    assert service.reconciler.last_error is None
    assert service.metric("gridshift_reconcile_errors_total", stage="read") is None


def test_a_conflict_on_the_scaled_object_is_reread_and_held_once(service, cluster, keda, k8s):
    keda("pause")
    fault = k8s.inject("PATCH", "scaledobjects", name="web-so", status=409)
    service.notify(HIGH)
    service.reconcile()
    assert fault.hits == 1
    assert annotations(cluster)[PAUSED] == "0"
    assert cluster.versions("ScaledObject", "team-a", "web-so") == 2  # one real write


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_on_the_scaled_object_changes_nothing_and_is_retried(service, cluster, keda, k8s, status):
    before = keda("pause")
    k8s.inject("PATCH", "scaledobjects", name="web-so", status=status)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.get("ScaledObject", "team-a", "web-so") == before
    [decision] = [d for d in service.decisions() if d["decision"] == "hold"]
    assert decision["result"] == "failed" and str(status) in decision["reason"]
    service.reconcile()
    assert annotations(cluster)[PAUSED] == "0"


def test_an_opted_out_namespace_gets_its_scaled_object_restored(service, cluster, keda):
    keda("pause")
    service.notify(HIGH)
    service.reconcile()
    assert annotations(cluster)[PAUSED] == "0"
    cluster.set("Namespace", None, "team-a", lambda ns: ns["metadata"].pop("annotations"))
    service.reconcile()
    assert annotations(cluster) == {}


def test_on_green_scale_up_leaves_keda_workloads_to_keda(service, cluster, keda):
    keda("none", on_green="scale-up", max_replicas="9")
    service.notify(LOW)
    service.reconcile()
    assert cluster.patches() == []
    [decision] = service.decisions()
    assert decision["result"] == "skipped" and "KEDA" in decision["reason"]
