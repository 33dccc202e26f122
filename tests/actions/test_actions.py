"""Each action on each kind, against the Kubernetes emulator with the real client.

Covers:
- pause: Deployment and StatefulSet (replicas 0), CronJob and Job (spec.suspend true), and restore;
  CronJob without a suspend field (restore removes it again); an already suspended CronJob is skipped;
- scale-down: rounding up, the min-replicas floor, already at/below the floor -> skipped with a reason;
  a CronJob (no size) is suspended;
- scale-down with an HPA: the HPA's bounds are lowered, the workload's replicas untouched, restore puts
  the HPA back; pause with an HPA pauses the workload and leaves the HPA alone;
- migrate: a required node affinity to the greenest zone below the alerting one (from the exporter's
  JSON API), by gridshift.io/zone or by region label; existing affinity terms preserved and ANDed;
  restore removes exactly what was added; a Job is suspended, moved and resumed, and on restore left
  where it runs with an Event; no greener zone -> gridshift.io/fallback, or skipped with the reason;
- on-green scale-up on a low alert, back on resolution; on-green without max-replicas is refused;
- level annotation (critical-only namespaces ignore high alerts);
- the zone: namespace annotation, the zone most of the namespace's pods run in, the default zone;
- workload annotations override the namespace's (action, level, none); workload-level opt-in;
- exclude; interruptible=false Jobs and finished Jobs are left alone;
- protected namespaces (defaults, the release namespace, a configured list) are never touched;
- the write itself: ONE json-patch per hold on the object, opening with a `test` of
  /metadata/resourceVersion, fieldManager=gridshift, only the changed fields plus gridshift.io/state;
- a Kubernetes Event per change; gridshift_actions_total and gridshift_held_workloads.
"""

from __future__ import annotations

import json

import pytest

from tests.actions.conftest import START, alert, iso, resolved

HIGH = alert("DE_LU", "high")
CRITICAL = alert("DE_LU", "critical")
LOW = alert("DE_LU", "low")
STATE = "gridshift.io/state"
STATE_POINTER = "/metadata/annotations/gridshift.io~1state"


def opt_in(cluster, name="team-a", action="pause", zone="DE_LU", **extra):
    annotations = {"gridshift.io/action": action, **({"gridshift.io/zone": zone} if zone else {})}
    annotations.update({f"gridshift.io/{key.replace('_', '-')}": value for key, value in extra.items()})
    return cluster.namespace(name, annotations)


def replicas(cluster, kind, name, namespace="team-a"):
    return cluster.get(kind, namespace, name)["spec"].get("replicas")


def suspended(cluster, kind, name, namespace="team-a"):
    return cluster.get(kind, namespace, name)["spec"].get("suspend")


def hold_and_resolve(service, firing=HIGH):
    service.notify(firing)
    service.reconcile()
    yield
    service.notify(resolved(firing))
    service.reconcile()


# --- pause ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_pause_scales_to_zero_and_restores(service, cluster, kind, clock):
    opt_in(cluster)
    getattr(cluster, kind.lower())("team-a", "web", replicas=4)
    service.notify(HIGH)
    service.reconcile()

    assert replicas(cluster, kind, "web") == 0
    state = cluster.state(kind, "team-a", "web")
    assert state == {"version": 1, "action": "pause", "original": {"/spec/replicas": 4}, "applied": {"/spec/replicas": 0},
                     "since": iso(START), "alert": f"{HIGH['fingerprint']}@{int(START - 300)}", "zone": "DE_LU",
                     "targetZone": ""}
    assert service.metric("gridshift_actions_total", namespace="team-a", action="pause", result="applied") == 1
    assert service.metric("gridshift_held_workloads", namespace="team-a", action="pause") == 1
    [event] = cluster.events("team-a", "web")
    assert event["reason"] == "GridshiftHeld" and event["type"] == "Normal"
    assert event["involvedObject"]["kind"] == kind and event["involvedObject"]["namespace"] == "team-a"
    assert event["involvedObject"]["uid"] == cluster.get(kind, "team-a", "web")["metadata"]["uid"]
    assert "pause" in event["message"] and "DE_LU" in event["message"]
    assert event["source"]["component"] == "gridshift"

    clock.advance(3600)
    service.notify(resolved(HIGH))
    service.reconcile()
    assert replicas(cluster, kind, "web") == 4
    assert STATE not in cluster.annotations(kind, "team-a", "web")
    assert [e["reason"] for e in cluster.events("team-a", "web", reason="GridshiftRestored")] == ["GridshiftRestored"]
    assert service.metric("gridshift_actions_total", namespace="team-a", action="pause", result="restored") == 1
    assert service.metric("gridshift_held_workloads", namespace="team-a", action="pause") is None


@pytest.mark.parametrize("kind", ["CronJob", "Job"])
@pytest.mark.parametrize("initially", [False, None], ids=["suspend-false", "suspend-absent"])
def test_pause_suspends_cronjobs_and_jobs_and_restores(service, cluster, kind, initially):
    opt_in(cluster)
    getattr(cluster, kind.lower())("team-a", "batch", suspend=initially)
    service.notify(HIGH)
    service.reconcile()
    assert suspended(cluster, kind, "batch") is True
    assert cluster.state(kind, "team-a", "batch")["original"] == {"/spec/suspend": initially}
    if kind == "Job":
        assert cluster.get(kind, "team-a", "batch")["spec"]["parallelism"] == 2  # size untouched

    service.notify(resolved(HIGH))
    service.reconcile()
    spec = cluster.get(kind, "team-a", "batch")["spec"]
    if initially is None:
        assert "suspend" not in spec
    else:
        assert spec["suspend"] is False
    assert STATE not in cluster.annotations(kind, "team-a", "batch")


def test_already_suspended_cronjob_is_skipped(service, cluster):
    opt_in(cluster)
    cluster.cronjob("team-a", "nightly", suspend=True)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches() == []
    [decision] = service.decisions()
    assert decision["result"] == "skipped" and "already suspended" in decision["reason"]


def test_already_at_zero_is_skipped(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "idle", replicas=0)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches() == []
    assert "already at 0" in service.decisions()[0]["reason"]


# --- the write --------------------------------------------------------------------------------

def test_one_guarded_json_patch_carries_the_change_and_the_state(service, cluster):
    opt_in(cluster)
    before = cluster.deployment("team-a", "web", replicas=3, annotations={"owner": "team-a"})
    mark = cluster.mark()
    service.notify(HIGH)
    service.reconcile()

    [patch] = cluster.patches(since=mark)
    assert patch.url.path == "/apis/apps/v1/namespaces/team-a/deployments/web"
    assert patch.params["fieldManager"] == "gridshift"
    assert patch.headers["Content-Type"].split(";")[0] == "application/json-patch+json"
    operations = patch.data
    assert operations[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": before["metadata"]["resourceVersion"]}
    assert {op["path"] for op in operations[1:]} == {"/spec/replicas", STATE_POINTER}
    assert all(op["op"] == "add" for op in operations[1:])
    after = cluster.get("Deployment", "team-a", "web")
    assert after["metadata"]["annotations"]["owner"] == "team-a"  # other annotations untouched
    assert after["spec"]["template"] == before["spec"]["template"]
    # the change and its state arrived in the same write: no stored version has one without the other
    for version in cluster.emu.objects["apps/v1/deployments", "team-a", "web"].history:
        raw = version.raw
        assert (raw["spec"]["replicas"] == 0) == (STATE in (raw["metadata"].get("annotations") or {}))


def test_state_annotation_on_an_object_without_annotations(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    assert "annotations" not in cluster.get("Deployment", "team-a", "web")["metadata"]
    service.notify(HIGH)
    service.reconcile()
    [patch] = cluster.patches()
    assert {"op": "add", "path": "/metadata/annotations", "value": {STATE: cluster.annotations(
        "Deployment", "team-a", "web")[STATE]}} in patch.data
    service.notify(resolved(HIGH))
    service.reconcile()
    assert cluster.annotations("Deployment", "team-a", "web") == {}


def test_restore_patch_is_guarded_and_minimal(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    held_rv = cluster.rv("Deployment", "team-a", "web")
    mark = cluster.mark()
    service.notify(resolved(HIGH))
    service.reconcile()
    [patch] = cluster.patches(since=mark)
    assert patch.data[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": held_rv}
    assert {op["path"] for op in patch.data[1:]} == {"/spec/replicas", STATE_POINTER}
    assert patch.params["fieldManager"] == "gridshift"


# --- scale-down -------------------------------------------------------------------------------

@pytest.mark.parametrize(("current", "factor", "floor", "expected"), [
    (5, "0.5", None, 3),      # ceil(2.5)
    (4, "0.5", None, 2),
    (10, "0.25", None, 3),    # ceil(2.5)
    (3, "0.1", None, 1),      # ceil(0.3) = 1 = default floor
    (6, "0.1", "2", 2),       # floor wins over ceil(0.6)
    (7, "0.9", None, 7),      # ceil(6.3) = 7: no change -> skipped
    (1, "0.5", None, 1),      # already at the floor
    (2, "0.5", "3", 2),       # already below the floor
    (0, "0.5", None, 0),      # scaled to 0 by hand: never scaled up to the floor (GoKubeDownscaler#456)
], ids=["5x0.5", "4x0.5", "10x0.25", "3x0.1", "floor-2", "no-change", "at-floor", "below-floor", "zero"])
def test_scale_down_rounds_up_and_keeps_the_floor(service, cluster, current, factor, floor, expected):
    extra = {"scale_factor": factor, **({"min_replicas": floor} if floor else {})}
    opt_in(cluster, action="scale-down", **extra)
    cluster.deployment("team-a", "web", replicas=current)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster, "Deployment", "web") == expected
    [decision] = service.decisions()
    if expected < current:
        assert decision["result"] == "applied" and f"{current} -> {expected} replicas" in decision["reason"]
        service.notify(resolved(HIGH))
        service.reconcile()
        assert replicas(cluster, "Deployment", "web") == current
    else:
        assert cluster.patches() == []
        assert decision["result"] == "skipped" and "floor" in decision["reason"]
        assert service.metric("gridshift_actions_total", namespace="team-a", action="scale-down", result="skipped") == 1


def test_scale_down_statefulset(service, cluster):
    opt_in(cluster, action="scale-down")
    cluster.statefulset("team-a", "db", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster, "StatefulSet", "db") == 2


def test_scale_down_suspends_a_cronjob(service, cluster):
    opt_in(cluster, action="scale-down")
    cluster.cronjob("team-a", "report")
    service.notify(HIGH)
    service.reconcile()
    assert suspended(cluster, "CronJob", "report") is True
    assert "no size" in service.decisions()[0]["reason"]


def test_scale_down_a_job_scales_its_parallelism(service, cluster):
    opt_in(cluster, action="scale-down")
    cluster.job("team-a", "train", parallelism=4)
    service.notify(HIGH)
    service.reconcile()
    job = cluster.get("Job", "team-a", "train")
    assert job["spec"]["parallelism"] == 2 and job["spec"]["suspend"] is False
    service.notify(resolved(HIGH))
    service.reconcile()
    assert cluster.get("Job", "team-a", "train")["spec"]["parallelism"] == 4


def test_scale_down_with_an_hpa_lowers_the_hpa_not_the_workload(service, cluster):
    opt_in(cluster, action="scale-down", min_replicas="2")
    cluster.deployment("team-a", "web", replicas=6)
    hpa_before = cluster.hpa("team-a", "web-hpa", "web", min_replicas=4, max_replicas=12)
    service.notify(HIGH)
    service.reconcile()

    assert replicas(cluster, "Deployment", "web") == 6
    assert cluster.patches("team-a", "web") == []
    hpa = cluster.get("HorizontalPodAutoscaler", "team-a", "web-hpa")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert cluster.state("HorizontalPodAutoscaler", "team-a", "web-hpa")["original"] == {
        "/spec/minReplicas": 4, "/spec/maxReplicas": 12}
    assert hpa["spec"]["scaleTargetRef"] == hpa_before["spec"]["scaleTargetRef"]
    [patch] = cluster.patches("team-a", "web-hpa")
    assert patch.data[0]["op"] == "test" and patch.params["fieldManager"] == "gridshift"
    assert cluster.events("team-a", "web-hpa", reason="GridshiftHeld")
    assert service.metric("gridshift_held_workloads", namespace="team-a", action="scale-down") == 1

    service.reconcile()  # still held: nothing more
    assert len(cluster.patches()) == 1

    service.notify(resolved(HIGH))
    service.reconcile()
    hpa = cluster.get("HorizontalPodAutoscaler", "team-a", "web-hpa")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (4, 12)
    assert STATE not in (hpa["metadata"].get("annotations") or {})
    assert replicas(cluster, "Deployment", "web") == 6
    assert cluster.patches("team-a", "web") == []


def test_scale_down_with_an_hpa_without_min_replicas(service, cluster):
    opt_in(cluster, action="scale-down")
    cluster.deployment("team-a", "web", replicas=6)
    cluster.hpa("team-a", "web-hpa", "web", min_replicas=None, max_replicas=8)
    service.notify(HIGH)
    service.reconcile()
    spec = cluster.get("HorizontalPodAutoscaler", "team-a", "web-hpa")["spec"]
    assert spec["minReplicas"] >= 1 and spec["maxReplicas"] == 4
    service.notify(resolved(HIGH))
    service.reconcile()
    spec = cluster.get("HorizontalPodAutoscaler", "team-a", "web-hpa")["spec"]
    assert "minReplicas" not in spec and spec["maxReplicas"] == 8


def test_pause_with_an_hpa_pauses_the_workload_and_leaves_the_hpa(service, cluster):
    opt_in(cluster, action="pause")
    cluster.deployment("team-a", "web", replicas=6)
    cluster.hpa("team-a", "web-hpa", "web", min_replicas=2, max_replicas=12)
    hpa_rv = cluster.rv("HorizontalPodAutoscaler", "team-a", "web-hpa")
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster, "Deployment", "web") == 0
    assert cluster.rv("HorizontalPodAutoscaler", "team-a", "web-hpa") == hpa_rv
    service.notify(resolved(HIGH))
    service.reconcile()
    assert replicas(cluster, "Deployment", "web") == 6
    assert cluster.rv("HorizontalPodAutoscaler", "team-a", "web-hpa") == hpa_rv


# --- migrate ----------------------------------------------------------------------------------

EXISTING_AFFINITY = {
    "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]},
        {"matchExpressions": [{"key": "node.example.com/pool", "operator": "In", "values": ["batch"]}]},
    ]}, "preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "ssd", "operator": "Exists"}]}}]},
    "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                             "labelSelector": {"matchLabels": {"app": "web"}}}}]},
}


@pytest.fixture
def three_zones(cluster, exporter):
    """Nodes in DE_LU (the alerting zone), FR (greenest) and PL (dirtier)."""
    for node, zone in (("de-1", "DE_LU"), ("de-2", "DE_LU"), ("fr-1", "FR"), ("pl-1", "PL")):
        cluster.node(node, zone=zone)
    exporter.intensity.update({"DE_LU": 420.0, "FR": 55.0, "PL": 690.0})
    return exporter


@pytest.fixture
def migrating(make_service, exporter):
    return make_service({"exporter_url": exporter.url})


def pod_affinity(cluster, kind, name):
    obj = cluster.get(kind, "team-a", name)
    spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"] if kind == "CronJob" else obj["spec"]["template"]["spec"]
    return spec.get("affinity")


TO_FR = {"key": "gridshift.io/zone", "operator": "In", "values": ["FR"]}


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "CronJob"])
def test_migrate_adds_a_required_affinity_to_the_greenest_zone(migrating, cluster, three_zones, kind):
    opt_in(cluster, action="migrate")
    getattr(cluster, kind.lower())("team-a", "web")
    migrating.notify(HIGH)
    migrating.reconcile()
    affinity = pod_affinity(cluster, kind, "web")
    assert affinity == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [TO_FR]}]}}}
    state = cluster.state(kind, "team-a", "web")
    assert state["action"] == "migrate" and state["targetZone"] == "FR" and state["zone"] == "DE_LU"
    [decision] = migrating.decisions()
    assert decision["target_zone"] == "FR" and "FR" in decision["reason"]
    if kind != "CronJob":
        assert replicas(cluster, kind, "web") == 3
    else:
        assert suspended(cluster, kind, "web") is False

    migrating.notify(resolved(HIGH))
    migrating.reconcile()
    assert pod_affinity(cluster, kind, "web") is None
    assert STATE not in cluster.annotations(kind, "team-a", "web")


def test_migrate_keeps_existing_affinity_and_ands_the_zone_into_every_term(migrating, cluster, three_zones):
    opt_in(cluster, action="migrate")
    cluster.deployment("team-a", "web", affinity=EXISTING_AFFINITY)
    migrating.notify(HIGH)
    migrating.reconcile()
    affinity = pod_affinity(cluster, "Deployment", "web")
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    original_terms = EXISTING_AFFINITY["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert len(terms) == 2
    for term, original in zip(terms, original_terms):
        assert term["matchExpressions"] == [*original["matchExpressions"], TO_FR]
    assert affinity["podAntiAffinity"] == EXISTING_AFFINITY["podAntiAffinity"]
    assert affinity["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == \
        EXISTING_AFFINITY["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]

    migrating.notify(resolved(HIGH))
    migrating.reconcile()
    assert pod_affinity(cluster, "Deployment", "web") == EXISTING_AFFINITY


def test_migrate_by_region_label_when_nodes_have_no_zone_label(make_service, cluster, exporter):
    service = make_service({"exporter_url": exporter.url},
                           cluster={"region_to_zone": {"eu-central-1": "DE_LU", "eu-west-3": "FR", "eu-west-4": "FR"}})
    cluster.node("a", region="eu-central-1")
    cluster.node("b", region="eu-west-3")
    cluster.node("c", region="eu-west-4")
    exporter.intensity.update({"DE_LU": 400.0, "FR": 50.0})
    opt_in(cluster, action="migrate")
    cluster.deployment("team-a", "web")
    service.notify(HIGH)
    service.reconcile()
    terms = pod_affinity(cluster, "Deployment", "web")["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [{"matchExpressions": [
        {"key": "topology.kubernetes.io/region", "operator": "In", "values": ["eu-west-3", "eu-west-4"]}]}]


def test_migrate_a_job_suspends_moves_and_resumes_and_restore_leaves_it_in_place(migrating, cluster, three_zones):
    opt_in(cluster, action="migrate")
    cluster.job("team-a", "train", suspend=False)
    migrating.notify(HIGH)
    migrating.reconcile()

    job = cluster.get("Job", "team-a", "train")
    assert job["spec"]["suspend"] is False
    assert job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [TO_FR]}]}
    # in order: suspended together with the affinity, then resumed
    first, second = cluster.patches("team-a", "train")
    assert {op["path"]: op.get("value") for op in first.data}["/spec/suspend"] is True
    assert "/spec/template/spec/affinity" in {op["path"] for op in first.data}
    assert {op["path"]: op.get("value") for op in second.data}["/spec/suspend"] is False
    assert second.data[0]["op"] == "test"
    assert cluster.state("Job", "team-a", "train")["applied"]["/spec/suspend"] is False

    migrating.notify(resolved(HIGH))
    migrating.reconcile()
    job = cluster.get("Job", "team-a", "train")
    assert job["spec"]["suspend"] is False
    assert job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]  # left where it runs
    assert STATE not in cluster.annotations("Job", "team-a", "train")
    [event] = cluster.events("team-a", "train", reason="GridshiftLeftInPlace")
    assert "FR" in event["message"]


@pytest.mark.parametrize("intensity", [
    {"DE_LU": 120.0, "FR": 300.0, "PL": 690.0},   # every other zone is dirtier
    {},                                           # the exporter knows no zone
], ids=["none-greener", "no-data"])
def test_migrate_without_a_greener_zone_uses_the_fallback(migrating, cluster, three_zones, intensity):
    three_zones.intensity.clear()
    three_zones.intensity.update(intensity)
    opt_in(cluster, action="migrate", fallback="pause")
    cluster.deployment("team-a", "web", replicas=3)
    migrating.notify(HIGH)
    migrating.reconcile()
    assert replicas(cluster, "Deployment", "web") == 0
    assert cluster.state("Deployment", "team-a", "web")["action"] == "pause"
    assert "fallback pause" in migrating.decisions()[0]["reason"]
    migrating.notify(resolved(HIGH))
    migrating.reconcile()
    assert replicas(cluster, "Deployment", "web") == 3


def test_migrate_without_a_greener_zone_and_no_fallback_is_skipped_with_the_reason(migrating, cluster, three_zones):
    three_zones.intensity.update({"FR": 900.0, "PL": 950.0})
    opt_in(cluster, action="migrate")
    cluster.deployment("team-a", "web", replicas=3)
    migrating.notify(HIGH)
    migrating.reconcile()
    assert cluster.patches() == []
    [decision] = migrating.decisions()
    assert decision["result"] == "skipped" and "no zone greener than DE_LU" in decision["reason"]
    assert "gridshift.io/fallback" in decision["reason"]


def test_migrate_never_targets_another_alerting_zone(migrating, cluster, three_zones):
    opt_in(cluster, action="migrate", fallback="scale-down")
    cluster.deployment("team-a", "web", replicas=4)
    migrating.notify(HIGH, alert("FR", "high"), alert("PL", "critical"))
    migrating.reconcile()
    assert pod_affinity(cluster, "Deployment", "web") is None
    assert replicas(cluster, "Deployment", "web") == 2


def test_migrate_with_a_single_zone_cluster_uses_the_fallback(migrating, cluster, exporter):
    cluster.node("only", zone="DE_LU")
    exporter.intensity.update({"DE_LU": 400.0, "FR": 10.0})  # FR has no nodes here
    opt_in(cluster, action="migrate", fallback="pause")
    cluster.deployment("team-a", "web", replicas=2)
    migrating.notify(HIGH)
    migrating.reconcile()
    assert replicas(cluster, "Deployment", "web") == 0


def test_migrate_to_a_zone_whose_nodes_no_label_selects(make_service, cluster, exporter):
    service = make_service({"exporter_url": exporter.url}, cluster={"default_zone": "FR"})
    cluster.node("de-1", zone="DE_LU")
    cluster.node("fr-1")  # FR only through the default zone
    cluster.node("fr-2")
    exporter.intensity.update({"DE_LU": 400.0, "FR": 50.0})
    opt_in(cluster, action="migrate", fallback="pause")
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    affinity = pod_affinity(cluster, "Deployment", "web") or {}
    terms = ((affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
        "nodeSelectorTerms") or []
    assert all(expression.get("values") for term in terms for expression in term.get("matchExpressions") or []
               if expression.get("operator") in ("In", "NotIn"))
    assert replicas(cluster, "Deployment", "web") == 0  # no selectable greener zone: the fallback


# --- on-green ---------------------------------------------------------------------------------

def test_on_green_scales_up_on_a_low_alert_and_back_when_it_resolves(service, cluster):
    cluster.namespace("batch", {"gridshift.io/on-green": "scale-up", "gridshift.io/max-replicas": "8",
                                "gridshift.io/zone": "DE_LU"})
    cluster.deployment("batch", "worker", replicas=2)
    cluster.statefulset("batch", "queue", replicas=8)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches() == []  # on-green alone does not act on high alerts

    service.notify(LOW)
    service.reconcile()
    assert replicas(cluster, "Deployment", "worker", "batch") == 8
    assert cluster.state("Deployment", "batch", "worker")["action"] == "scale-up"
    assert replicas(cluster, "StatefulSet", "queue", "batch") == 8
    assert cluster.patches("batch", "queue") == []  # already at max-replicas
    assert service.metric("gridshift_held_workloads", namespace="batch", action="scale-up") == 1

    service.notify(resolved(LOW))
    service.reconcile()
    assert replicas(cluster, "Deployment", "worker", "batch") == 2
    assert STATE not in cluster.annotations("Deployment", "batch", "worker")


def test_on_green_leaves_a_workload_scaled_to_zero_alone(service, cluster):
    cluster.namespace("batch", {"gridshift.io/on-green": "scale-up", "gridshift.io/max-replicas": "8",
                                "gridshift.io/zone": "DE_LU"})
    cluster.deployment("batch", "switched-off", replicas=0)
    service.notify(LOW)
    service.reconcile()
    assert replicas(cluster, "Deployment", "switched-off", "batch") == 0


def test_from_green_surplus_to_high_alert_converges_within_two_passes(service, cluster):
    """on-green and an action together: the scale-up is undone first, the hold comes at the next pass."""
    cluster.namespace("batch", {"gridshift.io/action": "pause", "gridshift.io/on-green": "scale-up",
                                "gridshift.io/max-replicas": "8", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("batch", "worker", replicas=3)
    service.notify(LOW)
    service.reconcile()
    assert replicas(cluster, "Deployment", "worker", "batch") == 8
    service.notify(resolved(LOW), alert("DE_LU", "high", starts_at="2026-11-25T10:40:00Z"))
    service.reconcile(times=2)
    assert replicas(cluster, "Deployment", "worker", "batch") == 0
    assert cluster.state("Deployment", "batch", "worker")["original"] == {"/spec/replicas": 3}


def test_on_green_without_max_replicas_is_refused(service, cluster):
    cluster.namespace("batch", {"gridshift.io/on-green": "scale-up", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("batch", "worker", replicas=2)
    service.notify(LOW)
    service.reconcile()
    assert cluster.patches() == []
    [decision] = service.decisions()
    assert decision["result"] == "skipped" and "max-replicas" in decision["reason"]


def test_on_green_leaves_hpa_targets_to_the_hpa(service, cluster):
    cluster.namespace("batch", {"gridshift.io/on-green": "scale-up", "gridshift.io/max-replicas": "8",
                                "gridshift.io/zone": "DE_LU"})
    cluster.deployment("batch", "worker", replicas=2)
    cluster.hpa("batch", "worker", "worker")
    service.notify(LOW)
    service.reconcile()
    assert cluster.patches() == []


# --- level and zone ---------------------------------------------------------------------------

def test_critical_only_namespace_ignores_high_alerts(service, cluster):
    opt_in(cluster, level="critical")
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster, "Deployment", "web") == 3
    service.notify(CRITICAL)
    service.reconcile()
    assert replicas(cluster, "Deployment", "web") == 0
    assert cluster.state("Deployment", "team-a", "web")["alert"].startswith(CRITICAL["fingerprint"])
    service.notify(resolved(CRITICAL))  # the high alert alone does not keep it held
    service.reconcile()
    assert replicas(cluster, "Deployment", "web") == 3


def test_default_level_acts_on_high_and_critical(service, cluster):
    opt_in(cluster, name="a")
    opt_in(cluster, name="b")
    cluster.deployment("a", "web")
    cluster.deployment("b", "web")
    service.notify(CRITICAL)
    service.reconcile()
    assert replicas(cluster, "Deployment", "web", "a") == replicas(cluster, "Deployment", "web", "b") == 0


def test_alerts_of_other_zones_are_ignored(service, cluster):
    opt_in(cluster, zone="FR")
    cluster.deployment("team-a", "web")
    service.notify(HIGH, CRITICAL)
    service.reconcile()
    assert cluster.patches() == []


def test_zone_from_annotation_from_pods_and_default(make_service, cluster):
    service = make_service(cluster={"default_zone": "PL", "region_to_zone": {"eu-west-3": "FR"}})
    cluster.node("de-1", zone="DE_LU")
    cluster.node("fr-1", region="eu-west-3")
    cluster.node("fr-2", region="eu-west-3")
    # annotation wins over where the pods run
    cluster.namespace("annotated", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("annotated", "web")
    cluster.pod("annotated", "web-1", "fr-1")
    # no annotation: the zone most pods run in (FR: 2 pods on region-mapped nodes, DE_LU: 1)
    cluster.namespace("by-pods", {"gridshift.io/action": "pause"})
    cluster.deployment("by-pods", "web")
    cluster.pod("by-pods", "web-1", "fr-1")
    cluster.pod("by-pods", "web-2", "fr-2")
    cluster.pod("by-pods", "web-3", "de-1")
    # no annotation, no pods: the default zone
    cluster.namespace("by-default", {"gridshift.io/action": "pause"})
    cluster.deployment("by-default", "web")

    service.notify(alert("FR", "high"))
    service.reconcile()
    assert {r.namespace for r in cluster.patches()} == {"by-pods"}
    service.notify(alert("PL", "high"))
    service.reconcile()
    assert {r.namespace for r in cluster.patches()} == {"by-pods", "by-default"}
    service.notify(alert("DE_LU", "high"))
    service.reconcile()
    assert {r.namespace for r in cluster.patches()} == {"by-pods", "by-default", "annotated"}
    assert cluster.state("Deployment", "by-pods", "web")["zone"] == "FR"


def test_no_zone_at_all_means_no_action(service, cluster):
    cluster.namespace("team-a", {"gridshift.io/action": "pause"})  # no default zone configured, no pods
    cluster.deployment("team-a", "web")
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches() == []


# --- overrides, exclusion, Jobs ---------------------------------------------------------------

def test_workload_annotations_override_the_namespace(service, cluster):
    opt_in(cluster, action="pause")
    cluster.deployment("team-a", "paused", replicas=4)
    cluster.deployment("team-a", "scaled", replicas=4, annotations={"gridshift.io/action": "scale-down"})
    cluster.deployment("team-a", "never", replicas=4, annotations={"gridshift.io/action": "none"})
    cluster.deployment("team-a", "critical-only", replicas=4, annotations={"gridshift.io/level": "critical"})
    cluster.deployment("team-a", "floor", replicas=4, annotations={"gridshift.io/action": "scale-down",
                                                                   "gridshift.io/min-replicas": "3"})
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster, "Deployment", "paused") == 0
    assert replicas(cluster, "Deployment", "scaled") == 2
    assert replicas(cluster, "Deployment", "never") == 4
    assert replicas(cluster, "Deployment", "critical-only") == 4
    assert replicas(cluster, "Deployment", "floor") == 3
    assert cluster.patches("team-a", "never") == [] and cluster.patches("team-a", "critical-only") == []


def test_a_workload_can_opt_in_in_a_namespace_that_did_not(service, cluster):
    cluster.namespace("team-a", {"gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=4, annotations={"gridshift.io/action": "pause"})
    cluster.deployment("team-a", "other", replicas=4)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster, "Deployment", "web") == 0
    assert replicas(cluster, "Deployment", "other") == 4


def test_a_workload_can_opt_in_to_on_green(service, cluster):
    cluster.namespace("team-a", {"gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "worker", replicas=2, annotations={"gridshift.io/on-green": "scale-up",
                                                                    "gridshift.io/max-replicas": "5"})
    service.notify(LOW)
    service.reconcile()
    assert replicas(cluster, "Deployment", "worker") == 5


@pytest.mark.parametrize(("value", "excluded"), [("true", True), ("yes", True), ("", True), ("until-friday", True),
                                                  ("false", False), ("False", False)])
def test_exclude(service, cluster, value, excluded):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3, annotations={"gridshift.io/exclude": value})
    service.notify(HIGH)
    service.reconcile()
    assert (replicas(cluster, "Deployment", "web") == 3) is excluded
    assert (cluster.patches() == []) is excluded


def test_non_interruptible_job_is_left_running(service, cluster):
    opt_in(cluster)
    cluster.job("team-a", "train", annotations={"gridshift.io/interruptible": "false"})
    cluster.job("team-a", "batch")
    service.notify(HIGH)
    service.reconcile()
    assert suspended(cluster, "Job", "train") is False
    assert cluster.patches("team-a", "train") == []
    assert suspended(cluster, "Job", "batch") is True
    skipped = [d for d in service.decisions() if d["name"] == "train"]
    assert skipped[0]["result"] == "skipped" and "interruptible=false" in skipped[0]["reason"]


def test_namespace_level_interruptible_false(service, cluster):
    opt_in(cluster, interruptible="false")
    cluster.job("team-a", "train")
    cluster.deployment("team-a", "web")
    service.notify(HIGH)
    service.reconcile()
    assert suspended(cluster, "Job", "train") is False
    assert replicas(cluster, "Deployment", "web") == 0


@pytest.mark.parametrize("status", [
    {"succeeded": 4, "completionTime": "2026-11-25T08:00:00Z", "conditions": [{"type": "Complete", "status": "True"}]},
    {"succeeded": 4},
], ids=["completion-time", "succeeded-no-active"])
def test_finished_job_is_skipped(service, cluster, status):
    opt_in(cluster)
    cluster.job("team-a", "done", status=status)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches() == []
    assert "finished" in service.decisions()[0]["reason"]


# --- protected namespaces ---------------------------------------------------------------------

def test_protected_namespaces_are_never_touched(make_service, cluster):
    service = make_service(release_namespace="gridshift-system")
    for name in ("kube-system", "kube-public", "kube-node-lease", "gridshift-system"):
        opt_in(cluster, name=name)
        cluster.deployment(name, "critical-app", replicas=2)
        cluster.cronjob(name, "cleanup")
    cluster.deployment("kube-system", "opted", annotations={"gridshift.io/action": "pause"})
    opt_in(cluster, name="team-a")
    cluster.deployment("team-a", "web")
    service.notify(HIGH, CRITICAL)
    service.reconcile()
    assert {r.namespace for r in cluster.patches()} == {"team-a"}
    assert {e["metadata"]["namespace"] for e in cluster.events()} == {"team-a"}


def test_configured_protected_list(make_service, cluster):
    service = make_service({"protected_namespaces": ["platform"]})
    opt_in(cluster, name="platform")
    cluster.deployment("platform", "ingress")
    opt_in(cluster, name="kube-system")  # replaced the defaults: acted on now
    cluster.deployment("kube-system", "app")
    service.notify(HIGH)
    service.reconcile()
    assert {r.namespace for r in cluster.patches()} == {"kube-system"}


def test_protected_namespace_with_a_state_annotation_is_not_touched(make_service, cluster):
    service = make_service(release_namespace="gridshift-system")
    state = json.dumps({"version": 1, "action": "pause", "original": {"/spec/replicas": 2}, "applied": {"/spec/replicas": 0},
                        "since": "2026-11-24T09:00:00Z", "alert": "0123456789abcdef@1", "zone": "DE_LU", "targetZone": ""})
    cluster.namespace("kube-system")
    cluster.deployment("kube-system", "coredns", replicas=0, annotations={STATE: state})
    service.reconcile()
    assert cluster.patches() == []
