"""Correct under real conditions: Alertmanager's delivery habits, concurrency, Kubernetes failures.

Covers:
- duplicate, repeated (repeat_interval), grouped (several alerts in one payload) and reordered
  notifications (resolved before firing; a stale firing after a resolution) are idempotent: one PATCH
  per workload, the right final state;
- concurrent webhooks from several threads with the reconcile loop running, and concurrent passes,
  never double-apply (PATCH requests and stored versions per workload in the emulator);
- 409 and 422 injected once on PATCH -> re-read and applied once; a real conflict (a person's edit
  between read and write) -> decided again on the fresh object; conflicts on every retry -> failed,
  applied at the next pass;
- 500/503 injected -> the workload as it was, a `failed` decision and metric, applied at the next pass
  (holds and restores); a timeout longer than actions.request_timeout_seconds -> unchanged (also after
  the delayed request would have finished) and retried; the cluster unreadable -> the pass stops
  cleanly, reconcile_errors{stage="read"};
- 403 and 404 on one workload do not stop the others; a lost Event does not undo or repeat a change;
- a Job migration whose resume step fails must not leave the Job suspended;
- dry-run: decisions recorded with result dry_run, no PATCH, no Event (holds and restores);
- Alertmanager down, answering garbage, or slow -> the pass works from webhook-fed alerts and
  reconcile_errors{stage="alertmanager"} is counted;
- wait_idle() right after start() waits for the first pass.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.actions.conftest import AUTH, alert, payload, resolved

HIGH = alert("DE_LU", "high")
CRITICAL = alert("DE_LU", "critical")
STATE = "gridshift.io/state"


def opt_in(cluster, name="team-a", action="pause", zone="DE_LU", **extra):
    annotations = {"gridshift.io/action": action, "gridshift.io/zone": zone}
    annotations.update({f"gridshift.io/{key.replace('_', '-')}": value for key, value in extra.items()})
    return cluster.namespace(name, annotations)


def replicas(cluster, name="web", namespace="team-a"):
    return cluster.get("Deployment", namespace, name)["spec"]["replicas"]


def successful_writes(cluster, kind, namespace, name) -> int:
    return cluster.versions(kind, namespace, name) - 1


# --- Alertmanager's delivery habits -----------------------------------------------------------

def test_duplicate_and_repeated_notifications_apply_once(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    for _ in range(5):
        service.notify(HIGH)
    service.reconcile()
    for _ in range(3):  # repeat_interval: the same alert again, hours later
        service.notify(HIGH)
        service.reconcile()
    assert len(cluster.patches("team-a", "web")) == 1
    assert replicas(cluster) == 0
    for _ in range(3):
        service.notify(resolved(HIGH))
        service.reconcile()
    assert len(cluster.patches("team-a", "web")) == 2
    assert replicas(cluster) == 3
    assert len(cluster.events("team-a", "web")) == 2


def test_grouped_notification_applies_each_workload_once(service, cluster):
    opt_in(cluster, name="de")
    opt_in(cluster, name="fr", zone="FR")
    opt_in(cluster, name="pl", zone="PL", level="critical")
    for namespace in ("de", "fr", "pl"):
        cluster.deployment(namespace, "web", replicas=3)
        cluster.cronjob(namespace, "nightly")
    group = payload(HIGH, CRITICAL, alert("FR", "high"), alert("PL", "high"), alert("NL", "critical"))
    assert service.post(group).get_json()["accepted"] == 5
    service.reconcile()
    service.post(group)
    service.reconcile()
    assert {(r.namespace, r.name) for r in cluster.patches()} == {("de", "web"), ("de", "nightly"), ("fr", "web"),
                                                                   ("fr", "nightly")}
    assert len(cluster.patches()) == 4
    # DE_LU's high alert resolves, its critical one keeps it held
    service.notify(resolved(HIGH))
    service.reconcile()
    assert replicas(cluster, namespace="de") == 0
    assert len(cluster.patches()) == 4


def test_resolved_before_firing_never_holds(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(resolved(HIGH))
    service.notify(HIGH)  # the delayed firing of the same episode
    service.reconcile()
    assert cluster.patches() == []
    assert service.service.book.active() == []


def test_a_stale_firing_after_the_resolution_is_ignored(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    service.notify(resolved(HIGH))
    service.reconcile()
    service.notify(HIGH)  # a lagging Alertmanager replica (HA) repeats the old episode
    service.reconcile()
    assert replicas(cluster) == 3
    assert len(cluster.patches()) == 2


def test_reordered_within_one_group(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(resolved(HIGH), HIGH)  # both states of one alert in one payload
    service.reconcile()
    assert cluster.patches() == []


def test_a_new_episode_after_a_resolution_holds_again(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    service.notify(resolved(HIGH, ends_at="2026-11-25T10:00:00Z"))
    service.reconcile()
    service.notify(alert("DE_LU", "high", starts_at="2026-11-25T11:00:00Z"))
    service.reconcile()
    assert replicas(cluster) == 0
    assert len(cluster.patches()) == 3


# --- concurrency ------------------------------------------------------------------------------

def _wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_concurrent_webhooks_never_double_apply(make_service, cluster):
    service = make_service({"workers": 4})
    workloads = []
    for n in range(6):
        opt_in(cluster, name=f"ns-{n}", action="scale-down" if n % 2 else "pause")
        cluster.deployment(f"ns-{n}", "web", replicas=6)
        cluster.statefulset(f"ns-{n}", "db", replicas=3)
        cluster.cronjob(f"ns-{n}", "nightly")
        workloads += [("Deployment", f"ns-{n}", "web"), ("StatefulSet", f"ns-{n}", "db"), ("CronJob", f"ns-{n}", "nightly")]
    service.reconciler.start()
    assert _wait_until(lambda: service.reconciler.passes >= 1)
    bodies = [payload(HIGH), payload(HIGH, CRITICAL), payload(CRITICAL), payload(HIGH, alert("FR", "high"))]
    errors: list[BaseException] = []

    def post(index: int) -> None:
        client = service.service.app.test_client()
        try:
            for round_ in range(15):
                response = client.post("/api/v1/alerts", json=bodies[(index + round_) % len(bodies)], headers=AUTH)
                assert response.status_code == 200
        except BaseException as error:  # noqa: B036 - reported below
            errors.append(error)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _wait_until(lambda: all(STATE in cluster.annotations(*w) for w in workloads))
    service.reconciler.trigger()
    assert service.reconciler.wait_idle(15)
    for kind, namespace, name in workloads:
        assert successful_writes(cluster, kind, namespace, name) == 1, (kind, namespace, name)
        assert len(cluster.patches(namespace, name)) == 1
        assert len(cluster.events(namespace, name, reason="GridshiftHeld")) == 1
    assert replicas(cluster, "web", "ns-1") == 3 and replicas(cluster, "web", "ns-0") == 0


def test_concurrent_passes_never_double_apply(service, cluster):
    workloads = []
    for n in range(5):
        opt_in(cluster, name=f"ns-{n}", action="scale-down")
        for m in range(3):
            cluster.deployment(f"ns-{n}", f"web-{m}", replicas=8)
            workloads.append((f"ns-{n}", f"web-{m}"))
    service.notify(HIGH)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            service.reconciler.run_pass()
        except BaseException as error:  # noqa: B036
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for namespace, name in workloads:
        assert replicas(cluster, name, namespace) == 4  # 8 x 0.5 once, never 8 -> 4 -> 2
        assert successful_writes(cluster, "Deployment", namespace, name) == 1
        assert len(cluster.events(namespace, name, reason="GridshiftHeld")) == 1
        assert cluster.state("Deployment", namespace, name)["original"] == {"/spec/replicas": 8}


# --- conflicts --------------------------------------------------------------------------------

def test_conflict_once_is_reread_and_applied_once(service, cluster, k8s):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    fault = k8s.inject("PATCH", "deployments", name="web", status=409)
    service.notify(HIGH)
    service.reconcile()
    assert fault.hits == 1
    assert replicas(cluster) == 0
    assert len(cluster.patches("team-a", "web")) == 2
    assert successful_writes(cluster, "Deployment", "team-a", "web") == 1
    gets = [r for r in cluster.requests() if r.method.value.upper() == "GET" and r.name == "web"]
    assert len(gets) == 1  # re-read before the retry
    decisions = service.decisions()
    assert [(d["decision"], d["result"]) for d in decisions] == [("hold", "applied")]
    assert len(cluster.events("team-a", "web")) == 1


def test_422_on_an_unchanged_object_is_invalid_not_retried_in_the_pass(service, cluster, k8s):
    """A failed resourceVersion test comes with a changed object; a 422 on an unchanged one is a
    refused patch: recorded as failed at once (no retry loop), tried again at the next pass."""
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    fault = k8s.inject("PATCH", "deployments", name="web", status=422)
    service.notify(HIGH)
    service.reconcile()
    assert fault.hits == 1 and replicas(cluster) == 3
    assert len(cluster.patches("team-a", "web")) == 1
    [decision] = service.decisions()
    assert decision["result"] == "failed" and "refused as invalid" in decision["reason"]
    service.reconcile()
    assert replicas(cluster) == 0


def test_a_real_conflict_decides_again_on_the_fresh_object(make_service, cluster):
    """A person scales the Deployment between the service's read and its write."""
    edited = threading.Event()

    def on_call(verb: str, group: str, resource: str) -> None:
        if verb == "patch" and resource == "deployments" and not edited.is_set():
            edited.set()
            cluster.set("Deployment", "team-a", "web", lambda obj: obj["spec"].__setitem__("replicas", 7))

    service = make_service(on_kube_call=on_call)
    opt_in(cluster, action="scale-down")
    cluster.deployment("team-a", "web", replicas=4)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster) == 4  # ceil(7 x 0.5): decided on the person's 7, not the stale 4
    assert cluster.state("Deployment", "team-a", "web")["original"] == {"/spec/replicas": 7}
    service.notify(resolved(HIGH))
    service.reconcile()
    assert replicas(cluster) == 7


def test_conflicts_on_every_retry_fail_and_the_next_pass_applies(service, cluster, k8s):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    k8s.inject("PATCH", "deployments", name="web", status=409, times=3)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster) == 3
    assert service.decisions()[0]["result"] == "failed"
    assert service.metric("gridshift_actions_total", namespace="team-a", action="pause", result="failed") == 1
    service.reconcile()
    assert replicas(cluster) == 0


# --- server errors and timeouts ---------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_error_on_hold_leaves_the_workload_and_is_retried(service, cluster, k8s, status):
    opt_in(cluster)
    original = cluster.deployment("team-a", "web", replicas=3)
    cluster.deployment("team-a", "other", replicas=2)
    k8s.inject("PATCH", "deployments", name="web", status=status)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.get("Deployment", "team-a", "web") == original
    assert replicas(cluster, "other") == 0  # the failure of one does not stop the others
    failed = [d for d in service.decisions() if d["name"] == "web"]
    assert failed[0]["result"] == "failed" and str(status) in failed[0]["reason"]
    assert service.metric("gridshift_actions_total", namespace="team-a", action="pause", result="failed") == 1
    assert cluster.events("team-a", "web") == []
    service.reconcile()
    assert replicas(cluster) == 0
    assert STATE in cluster.annotations("Deployment", "team-a", "web")


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_on_restore_keeps_it_held_and_is_retried(service, cluster, k8s, status):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    held = cluster.get("Deployment", "team-a", "web")
    k8s.inject("PATCH", "deployments", name="web", status=status)
    service.notify(resolved(HIGH))
    service.reconcile()
    assert cluster.get("Deployment", "team-a", "web") == held
    assert service.metric("gridshift_held_workloads", namespace="team-a", action="pause") == 1
    service.reconcile()
    assert replicas(cluster) == 3
    assert STATE not in cluster.annotations("Deployment", "team-a", "web")


def test_timeout_leaves_the_workload_and_is_retried(make_service, cluster, k8s):
    service = make_service({"request_timeout_seconds": 0.3})
    opt_in(cluster)
    original = cluster.deployment("team-a", "web", replicas=3)
    fault = k8s.inject("PATCH", "deployments", name="web", status=None, delay=1.2)
    service.notify(HIGH)
    started = time.monotonic()
    service.reconcile()
    assert time.monotonic() - started < 1.2
    assert fault.hits == 1
    assert service.decisions()[0]["result"] == "failed"
    time.sleep(1.3)  # the slow request would have finished by now: it must not have written
    assert cluster.get("Deployment", "team-a", "web") == original
    service.reconcile()
    assert replicas(cluster) == 0
    assert successful_writes(cluster, "Deployment", "team-a", "web") == 1


def test_unreadable_cluster_stops_the_pass_cleanly(make_service, cluster, k8s):
    service = make_service({"request_timeout_seconds": 0.3})
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    k8s.inject("GET", "deployments", status=None, delay=1.0)
    service.reconcile()
    k8s.inject("GET", "v1/namespaces", status=500)
    service.reconcile()
    assert service.metric("gridshift_reconcile_errors_total", stage="read") == 2
    assert cluster.patches() == []
    service.reconcile()
    assert replicas(cluster) == 0


def test_forbidden_and_not_found_on_one_workload_do_not_stop_the_others(service, cluster, k8s):
    opt_in(cluster, name="team-a")
    opt_in(cluster, name="team-b")
    cluster.deployment("team-a", "web", replicas=3)
    cluster.deployment("team-a", "gone", replicas=3)
    cluster.deployment("team-b", "api", replicas=3)
    k8s.inject("PATCH", "deployments", name="web", status=403, times=None)
    k8s.inject("PATCH", "deployments", name="gone", status=404)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster, "web") == 3 and replicas(cluster, "gone") == 3
    assert replicas(cluster, "api", "team-b") == 0
    results = {d["name"]: d["result"] for d in service.decisions()}
    assert results == {"web": "failed", "gone": "failed", "api": "applied"}


def test_a_lost_event_does_not_undo_or_repeat_the_change(service, cluster, k8s):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    k8s.inject("POST", "v1/events", status=500, times=None)
    service.notify(HIGH)
    service.reconcile(times=3)
    assert replicas(cluster) == 0
    assert len(cluster.patches()) == 1
    assert service.decisions()[0]["result"] == "applied"


def test_a_failed_job_resume_does_not_leave_the_job_suspended(make_service, cluster, k8s, exporter):
    service = make_service({"exporter_url": exporter.url})
    for node, zone in (("de-1", "DE_LU"), ("fr-1", "FR")):
        cluster.node(node, zone=zone)
    exporter.intensity.update({"DE_LU": 420.0, "FR": 55.0})
    opt_in(cluster, action="migrate")
    cluster.job("team-a", "train", suspend=False)
    k8s.inject("PATCH", "jobs", name="train", status=None)  # the first step goes through
    k8s.inject("PATCH", "jobs", name="train", status=503)   # the resume step fails
    service.notify(HIGH)
    service.reconcile()
    service.reconcile()
    service.notify(resolved(HIGH))
    service.reconcile(times=2)
    assert cluster.get("Job", "team-a", "train")["spec"]["suspend"] is False


# --- dry-run ----------------------------------------------------------------------------------

def test_dry_run_decides_and_records_but_changes_nothing(make_service, cluster):
    service = make_service({"dry_run": True})
    opt_in(cluster)
    deployment = cluster.deployment("team-a", "web", replicas=3)
    cronjob = cluster.cronjob("team-a", "nightly")
    opt_in(cluster, name="scaled", action="scale-down")
    cluster.deployment("scaled", "api", replicas=4)
    cluster.hpa("scaled", "api", "api")
    service.notify(HIGH)
    service.reconcile(times=2)
    assert cluster.patches() == []
    assert cluster.events() == []
    assert cluster.get("Deployment", "team-a", "web") == deployment
    assert cluster.get("CronJob", "team-a", "nightly") == cronjob
    decisions = service.decisions()
    assert {(d["name"], d["result"]) for d in decisions} == {("web", "dry_run"), ("nightly", "dry_run"), ("api", "dry_run")}
    assert len(decisions) == 3  # a repeated dry-run decision is logged once
    web = next(d for d in decisions if d["name"] == "web")
    assert web["before"] == {"/spec/replicas": 3} and web["after"] == {"/spec/replicas": 0}
    assert service.metric("gridshift_actions_total", namespace="team-a", action="pause", result="dry_run") == 2
    assert service.client.get("/readyz").get_json()["dry_run"] is True


def test_dry_run_restore_changes_nothing(make_service, cluster):
    live = make_service()
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    live.notify(HIGH)
    live.reconcile()
    held = cluster.get("Deployment", "team-a", "web")
    dry = make_service({"dry_run": True})
    mark = cluster.mark()
    dry.notify(resolved(HIGH))  # heard: the alert resolved
    dry.reconcile()  # would restore
    assert cluster.patches(since=mark) == []
    assert cluster.get("Deployment", "team-a", "web") == held
    [decision] = dry.decisions()
    assert decision["decision"] == "restore" and decision["result"] == "dry_run"


# --- Alertmanager unavailable -----------------------------------------------------------------

def test_alertmanager_down_falls_back_to_webhook_alerts(make_service, cluster):
    service = make_service({"alertmanager_url": "http://127.0.0.1:9", "request_timeout_seconds": 1})
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster) == 0
    assert service.metric("gridshift_reconcile_errors_total", stage="alertmanager") == 1
    assert service.client.get("/readyz").status_code == 200
    service.notify(resolved(HIGH))
    service.reconcile()
    assert replicas(cluster) == 3
    assert service.metric("gridshift_reconcile_errors_total", stage="alertmanager") == 2


@pytest.mark.parametrize("failure", ["503", "not-a-list", "broken-alert", "slow"])
def test_alertmanager_failures_keep_the_webhook_alerts(make_service, cluster, alertmanager, httpserver, failure):
    service = make_service({"alertmanager_url": alertmanager.url, "request_timeout_seconds": 0.5})
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    alertmanager.set_active(HIGH)
    service.notify(HIGH)
    service.reconcile()
    assert replicas(cluster) == 0
    if failure == "503":
        alertmanager.status = 503
    elif failure == "not-a-list":
        alertmanager.active = {"data": []}  # type: ignore[assignment]
    elif failure == "broken-alert":
        # gridshift's own alert, unreadable (another team's is skipped unread: test_alertmanager_sync.py)
        alertmanager.active = [{"labels": {"zone": "DE_LU", "level": "high"}, "fingerprint": "abc", "startsAt": "soon"}]
    else:
        original = alertmanager.handle

        def slow(request):
            time.sleep(1.0)
            return original(request)
        httpserver.clear_all_handlers()
        httpserver.expect_request("/api/v2/alerts").respond_with_handler(slow)
    service.reconcile()
    assert replicas(cluster) == 0  # still held: a broken Alertmanager is not a resolution
    assert service.metric("gridshift_reconcile_errors_total", stage="alertmanager") == 1
    assert cluster.patches() and len(cluster.patches()) == 1


# --- the loop ---------------------------------------------------------------------------------

def test_wait_idle_after_start_waits_for_the_first_pass(service, cluster, k8s):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    k8s.inject("GET", "v1/nodes", status=None, delay=0.3)
    service.reconciler.start()
    assert service.reconciler.wait_idle(5)
    assert service.reconciler.passes == 1


def test_a_webhook_wakes_the_loop(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.reconciler.start()
    assert _wait_until(lambda: service.reconciler.passes >= 1)
    service.notify(HIGH)
    assert _wait_until(lambda: replicas(cluster) == 0, timeout=5)  # reconcile_seconds is 3600: woken, not timed
    service.notify(resolved(HIGH))
    assert _wait_until(lambda: replicas(cluster) == 3, timeout=5)
