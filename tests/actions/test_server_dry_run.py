"""`gridshift actions --dry-run=server`: every write is sent with Kubernetes' `dryRun=All`.

Aspects:
- the emulator honours dryRun=All as an apiserver does (answers the patched object, stores nothing,
  still refuses a failed resourceVersion test), through the real kubernetes client;
- a hold and a restore: the same guarded patch as a real run plus dryRun=All, its Event too; nothing
  stored; the decision says it was a server dry run the API accepted, result dry_run, and the metric;
- 403 (RBAC) or 400 (an admission webhook's denial) on the dry-run patch: a failed decision saying the
  server dry run was refused and why, nothing changed;
- /readyz tells which dry run is on; `--dry-run` alone (client) still sends nothing.
"""

from __future__ import annotations

import pytest
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from tests.actions.conftest import alert, resolved

HIGH = alert("DE_LU", "high")
STATE = "gridshift.io/state"


def opt_in(cluster):
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})


def test_the_emulator_honours_dry_run_all(cluster, api):
    opt_in(cluster)
    stored = cluster.deployment("team-a", "web", replicas=3)
    apps = k8s_client.AppsV1Api(api)
    answer = apps.patch_namespaced_deployment("web", "team-a", [{"op": "replace", "path": "/spec/replicas", "value": 0}],
                                              dry_run="All")
    assert answer.spec.replicas == 0
    assert cluster.get("Deployment", "team-a", "web") == stored
    with pytest.raises(ApiException) as refused:
        apps.patch_namespaced_deployment("web", "team-a", [{"op": "test", "path": "/metadata/resourceVersion",
                                                            "value": "stale"}], dry_run="All")
    assert refused.value.status == 422
    core = k8s_client.CoreV1Api(api)
    core.create_namespaced_event("team-a", {"metadata": {"generateName": "x."}, "involvedObject": {"name": "web"},
                                            "reason": "Test", "message": "m"}, dry_run="All")
    assert cluster.events() == []


def test_a_hold_and_a_restore_are_sent_as_server_dry_runs(make_service, cluster):
    live = make_service()
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    cluster.deployment("team-a", "held", replicas=2)
    cluster.set("Namespace", None, "team-a", lambda ns: ns["metadata"]["annotations"].update({"gridshift.io/action": "none"}))
    cluster.set("Deployment", "team-a", "held", lambda d: d["metadata"].update(annotations={"gridshift.io/action": "pause"}))
    live.notify(HIGH)
    live.reconcile()  # only `held` opted in: held for real
    cluster.set("Deployment", "team-a", "held", lambda d: d["metadata"]["annotations"].pop("gridshift.io/action"))
    cluster.set("Namespace", None, "team-a", lambda ns: ns["metadata"]["annotations"].update({"gridshift.io/action": "pause"}))
    stored = {name: cluster.get("Deployment", "team-a", name) for name in ("web", "held")}
    service = make_service(dry_run="server")
    mark = cluster.mark()
    service.notify(HIGH)
    service.reconcile()
    service.notify(resolved(HIGH))  # held must be restored: sent as a dry run too
    service.reconcile()

    patches = cluster.patches(since=mark)
    assert {p.name for p in patches} == {"web", "held"}
    assert all(p.params["dryRun"] == "All" and p.params["fieldManager"] == "gridshift" for p in patches)
    assert all(p.data[0]["op"] == "test" for p in patches)
    posts = [r for r in cluster.requests(mark) if r.method.value.upper() == "POST"]
    assert posts and all(r.params.get("dryRun") == "All" for r in posts)
    assert {name: cluster.get("Deployment", "team-a", name) for name in ("web", "held")} == stored
    decisions = {(d["name"], d["decision"]): d for d in service.decisions()}
    hold, restore = decisions["web", "hold"], decisions["held", "restore"]
    assert (hold["result"], hold["dry_run"]) == ("dry_run", "server")
    assert hold["reason"].startswith("server dry run accepted: would set /spec/replicas=0")
    assert (restore["result"], restore["dry_run"]) == ("dry_run", "server")
    assert restore["reason"].startswith("server dry run accepted: would GridshiftRestored")
    assert service.metric("gridshift_actions_total", namespace="team-a", action="pause", result="dry_run") == 2
    ready = service.client.get("/readyz").get_json()
    assert (ready["dry_run"], ready["dry_run_mode"]) == (True, "server")


@pytest.mark.parametrize(("status", "why"), [(403, "Forbidden"), (400, "BadRequest")], ids=["rbac", "admission"])
def test_a_refused_server_dry_run_is_a_failed_decision_and_changes_nothing(make_service, cluster, k8s, status, why):
    service = make_service(dry_run="server")
    opt_in(cluster)
    stored = cluster.deployment("team-a", "web", replicas=3)
    k8s.inject("PATCH", "deployments", name="web", status=status, reason=why, message="denied by policy require-labels")
    service.notify(HIGH)
    service.reconcile()
    assert cluster.get("Deployment", "team-a", "web") == stored
    [decision] = service.decisions()
    assert (decision["result"], decision["dry_run"]) == ("failed", "server")
    assert decision["reason"].startswith("server dry run refused:") and str(status) in decision["reason"]
    assert service.metric("gridshift_actions_total", namespace="team-a", action="pause", result="failed") == 1


def test_a_client_dry_run_still_sends_nothing(make_service, cluster):
    service = make_service(dry_run="client")
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches() == [] and cluster.events() == []
    [decision] = service.decisions()
    assert (decision["result"], decision["dry_run"]) == ("dry_run", "client")
    assert service.client.get("/readyz").get_json()["dry_run_mode"] == "client"
