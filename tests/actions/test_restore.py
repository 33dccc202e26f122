"""Restores: from the gridshift.io/state annotation, on resolution and by the reconcile loop.

Covers:
- resolved -> every kind restored exactly (spec equal to before the hold, state annotation removed);
  unrelated edits made while held are kept;
- a person changed the held field while held -> no fight while held, left as the person set it on
  restore, with a GridshiftLeftAsChanged Event, and the state removed;
- max-delay passed -> restored whatever the intensity, not held again for the same alert, held again
  for a new alert episode (new startsAt); also through an HPA;
- the namespace's action set to none, or removed, or the workload excluded -> restored at the next pass;
- a lost resolved notification is healed by the reconcile loop asking (a fake) Alertmanager; a lost
  firing notification too;
- a restart (a new ActionService on the same cluster) does not strand: it keeps what Alertmanager says
  is still active and restores the rest from the annotations;
- a malformed state annotation on one workload: that one is skipped with the reason, the others are
  processed; a malformed namespace annotation: skipped with the reason, the process keeps going, and a
  held workload under it is restored rather than stranded;
- a held workload deleted meanwhile does not break the pass.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.actions.conftest import alert, resolved

HIGH = alert("DE_LU", "high")
STATE = "gridshift.io/state"
RELEASED = "gridshift.io/released"
HELD_SECONDS = "gridshift.io/held-seconds"


def opt_in(cluster, name="team-a", action="pause", **extra):
    annotations = {"gridshift.io/action": action, "gridshift.io/zone": "DE_LU"}
    annotations.update({f"gridshift.io/{key.replace('_', '-')}": value for key, value in extra.items()})
    return cluster.namespace(name, annotations)


def spec(cluster, kind, name, namespace="team-a"):
    return cluster.get(kind, namespace, name)["spec"]


def set_namespace_annotations(cluster, name, annotations):
    def change(obj):
        obj["metadata"]["annotations"] = annotations
    cluster.set("Namespace", None, name, change)


# --- resolved ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "kind"), [
    ("pause", "Deployment"), ("pause", "StatefulSet"), ("pause", "CronJob"), ("pause", "Job"),
    ("scale-down", "Deployment"), ("scale-down", "StatefulSet"), ("scale-down", "CronJob"),
])
def test_resolved_restores_exactly(service, cluster, action, kind):
    opt_in(cluster, action=action)
    original = getattr(cluster, kind.lower())("team-a", "w")
    service.notify(HIGH)
    service.reconcile()
    assert spec(cluster, kind, "w") != original["spec"]
    service.notify(resolved(HIGH))
    service.reconcile()
    after = cluster.get(kind, "team-a", "w")
    assert after["spec"] == original["spec"]
    annotations = dict(after["metadata"].get("annotations") or {})
    if kind == "Job":  # a Job keeps how long it was held: its max-delay covers all its holds
        assert annotations.pop(HELD_SECONDS) == "0"  # the test's clock stood still
    assert annotations == (original["metadata"].get("annotations") or {})
    assert len(cluster.patches()) == 2
    assert service.metric("gridshift_held_workloads", namespace="team-a", action=action) is None


def test_unrelated_edits_made_while_held_are_kept(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()

    def new_image(obj):
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/web:2.0"
        obj["metadata"]["annotations"]["team"] = "a"
    cluster.set("Deployment", "team-a", "web", new_image)
    service.notify(resolved(HIGH))
    service.reconcile()
    web = cluster.get("Deployment", "team-a", "web")
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2.0")
    assert web["metadata"]["annotations"] == {"team": "a"}


# --- a person's edit wins ---------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "field", "value"), [
    ("Deployment", "replicas", 5), ("Deployment", "replicas", 1), ("StatefulSet", "replicas", 2),
    ("CronJob", "suspend", False),
])
def test_a_person_changed_it_while_held_is_left_as_set(service, cluster, kind, field, value):
    opt_in(cluster)
    getattr(cluster, kind.lower())("team-a", "w")
    service.notify(HIGH)
    service.reconcile()

    cluster.set(kind, "team-a", "w", lambda obj: obj["spec"].__setitem__(field, value))
    mark = cluster.mark()
    service.reconcile(times=3)  # alert still active: the service does not fight the person
    assert cluster.patches(since=mark) == []
    assert spec(cluster, kind, "w")[field] == value

    service.notify(resolved(HIGH))
    service.reconcile()
    assert spec(cluster, kind, "w")[field] == value
    assert STATE not in cluster.annotations(kind, "team-a", "w")
    [event] = cluster.events("team-a", "w", reason="GridshiftLeftAsChanged")
    assert f"/spec/{field}" in event["message"]
    decision = service.decisions()[0]
    assert decision["decision"] == "restore" and decision["result"] == "skipped"
    service.reconcile()
    assert spec(cluster, kind, "w")[field] == value  # and it stays so


def test_a_person_changed_the_hpa_while_held(service, cluster):
    opt_in(cluster, action="scale-down")
    cluster.deployment("team-a", "web", replicas=6)
    cluster.hpa("team-a", "web", "web", min_replicas=4, max_replicas=10)
    service.notify(HIGH)
    service.reconcile()
    cluster.set("HorizontalPodAutoscaler", "team-a", "web", lambda obj: obj["spec"].__setitem__("maxReplicas", 20))
    service.notify(resolved(HIGH))
    service.reconcile()
    hpa_spec = spec(cluster, "HorizontalPodAutoscaler", "web")
    assert hpa_spec["maxReplicas"] == 20 and hpa_spec["minReplicas"] == 2
    assert cluster.events("team-a", "web", reason="GridshiftLeftAsChanged")


def test_an_existing_state_is_never_overwritten(service, cluster):
    opt_in(cluster, action="pause")
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    state = cluster.annotations("Deployment", "team-a", "web")[STATE]
    set_namespace_annotations(cluster, "team-a", {"gridshift.io/action": "scale-down", "gridshift.io/zone": "DE_LU"})
    service.notify(alert("DE_LU", "critical"))
    mark = cluster.mark()
    service.reconcile(times=2)
    assert cluster.patches(since=mark) == []
    assert cluster.annotations("Deployment", "team-a", "web")[STATE] == state
    service.notify(resolved(HIGH))  # the critical alert still holds it, under the first state
    service.reconcile()
    assert cluster.patches(since=mark) == []
    service.notify(resolved(alert("DE_LU", "critical")))
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3


# --- max-delay --------------------------------------------------------------------------------

def test_max_delay_restores_whatever_the_intensity_and_not_again_for_the_same_alert(service, cluster, clock):
    opt_in(cluster, max_delay="2h")
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    clock.advance(2 * 3600 - 1)
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 0

    clock.advance(1)
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3
    assert STATE not in cluster.annotations("Deployment", "team-a", "web")
    assert cluster.annotations("Deployment", "team-a", "web")[RELEASED].startswith(HIGH["fingerprint"])
    assert "max-delay" in service.decisions()[0]["reason"]
    assert cluster.events("team-a", "web", reason="GridshiftRestored")

    mark = cluster.mark()
    service.notify(HIGH)  # Alertmanager repeats the same alert
    clock.advance(6 * 3600)
    service.reconcile(times=3)
    assert cluster.patches(since=mark) == []
    assert spec(cluster, "Deployment", "web")["replicas"] == 3

    # the alert resolves and a new episode starts: held again
    service.notify(resolved(HIGH, ends_at="2026-11-25T18:00:00Z"))
    service.reconcile()
    again = alert("DE_LU", "high", starts_at="2026-11-25T19:00:00Z")
    assert again["fingerprint"] == HIGH["fingerprint"]
    service.notify(again)
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 0
    annotations = cluster.annotations("Deployment", "team-a", "web")
    assert RELEASED not in annotations
    episode = int(datetime(2026, 11, 25, 19, 0, tzinfo=timezone.utc).timestamp())
    assert json.loads(annotations[STATE])["alert"] == f"{HIGH['fingerprint']}@{episode}"


def test_a_jobs_max_delay_covers_all_its_holds(service, cluster, clock):
    """Held 2 h in one alert episode and restored, a Job with max-delay 3h is held at most 1 h in the
    next; then its budget is spent and it runs to the end through any later alert."""
    opt_in(cluster, max_delay="3h")
    cluster.job("team-a", "train")
    service.notify(HIGH)
    service.reconcile()
    clock.advance(2 * 3600)
    service.notify(resolved(HIGH, ends_at="2026-11-25T11:00:00Z"))
    service.reconcile()
    assert spec(cluster, "Job", "train")["suspend"] is False
    assert cluster.annotations("Job", "team-a", "train")[HELD_SECONDS] == "7200"

    service.notify(alert("DE_LU", "high", starts_at="2026-11-25T12:00:00Z"))
    service.reconcile()
    assert spec(cluster, "Job", "train")["suspend"] is True
    clock.advance(3600 - 1)
    service.reconcile()
    assert spec(cluster, "Job", "train")["suspend"] is True
    clock.advance(1)
    service.reconcile()
    assert spec(cluster, "Job", "train")["suspend"] is False
    assert "in total" in service.decisions()[0]["reason"]
    assert cluster.annotations("Job", "team-a", "train")[HELD_SECONDS] == "10800"

    mark = cluster.mark()
    service.notify(resolved(alert("DE_LU", "high", starts_at="2026-11-25T12:00:00Z"), ends_at="2026-11-25T15:00:00Z"))
    service.notify(alert("DE_LU", "high", starts_at="2026-11-25T16:00:00Z"))  # a new episode
    service.reconcile(times=2)
    assert cluster.patches(since=mark) == []


def test_a_deployments_max_delay_is_per_hold(service, cluster, clock):
    opt_in(cluster, max_delay="3h")
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    clock.advance(2 * 3600)
    service.notify(resolved(HIGH, ends_at="2026-11-25T11:00:00Z"))
    service.reconcile()
    assert HELD_SECONDS not in cluster.annotations("Deployment", "team-a", "web")
    service.notify(alert("DE_LU", "high", starts_at="2026-11-25T12:00:00Z"))
    service.reconcile()
    clock.advance(3 * 3600 - 1)
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 0


@pytest.mark.parametrize("recorded", ["not-a-number", "-50"])
def test_an_unusable_held_seconds_annotation_counts_as_none(service, cluster, clock, recorded):
    opt_in(cluster, max_delay="1h")
    cluster.job("team-a", "train", annotations={HELD_SECONDS: recorded})
    service.notify(HIGH)
    service.reconcile()
    assert spec(cluster, "Job", "train")["suspend"] is True
    clock.advance(3600)
    service.reconcile()
    assert spec(cluster, "Job", "train")["suspend"] is False


def test_max_delay_default_is_24h(service, cluster, clock):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    clock.advance(24 * 3600 - 60)
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 0
    clock.advance(60)
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3


def test_max_delay_through_an_hpa_is_not_held_again_for_the_same_alert(service, cluster, clock):
    opt_in(cluster, action="scale-down", max_delay="1h")
    cluster.deployment("team-a", "web", replicas=6)
    cluster.hpa("team-a", "web", "web", min_replicas=4, max_replicas=10)
    service.notify(HIGH)
    service.reconcile()
    clock.advance(3601)
    service.reconcile()
    assert spec(cluster, "HorizontalPodAutoscaler", "web")["minReplicas"] == 4
    mark = cluster.mark()
    service.reconcile()
    assert cluster.patches(since=mark) == []
    assert spec(cluster, "HorizontalPodAutoscaler", "web")["maxReplicas"] == 10


# --- opting out -------------------------------------------------------------------------------

@pytest.mark.parametrize("new_annotations", [
    {"gridshift.io/action": "none", "gridshift.io/zone": "DE_LU"},
    {"gridshift.io/zone": "DE_LU"},
    {},
], ids=["action-none", "action-removed", "all-removed"])
def test_opting_out_restores_at_the_next_pass(service, cluster, new_annotations):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    cluster.cronjob("team-a", "nightly")
    service.notify(HIGH)
    service.reconcile()
    set_namespace_annotations(cluster, "team-a", new_annotations)
    service.reconcile()  # the alert is still active
    assert spec(cluster, "Deployment", "web")["replicas"] == 3
    assert spec(cluster, "CronJob", "nightly")["suspend"] is False
    assert "gridshift.io/action is none or absent" in service.decisions()[0]["reason"]
    mark = cluster.mark()
    service.reconcile()
    assert cluster.patches(since=mark) == []


def test_excluding_a_held_workload_restores_it(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    cluster.set("Deployment", "team-a", "web",
                lambda obj: obj["metadata"]["annotations"].__setitem__("gridshift.io/exclude", "true"))
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3


# --- Alertmanager heals lost notifications ----------------------------------------------------

def test_a_lost_resolved_notification_is_healed_by_the_reconcile_loop(make_service, cluster, alertmanager):
    service = make_service({"alertmanager_url": alertmanager.url})
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    alertmanager.set_active(HIGH)
    service.notify(HIGH)
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 0
    alertmanager.set_active()  # resolved in Alertmanager; the notification never arrives
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3
    assert alertmanager.calls == 2


def test_a_lost_firing_notification_is_healed_by_the_reconcile_loop(make_service, cluster, alertmanager):
    service = make_service({"alertmanager_url": alertmanager.url})
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    alertmanager.set_active(HIGH, alert(zone=None, level=None, name="Watchdog"))
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 0
    assert service.metric("gridshift_active_alerts", zone="DE_LU", level="high") == 1


def test_silenced_alerts_still_count_as_active(make_service, cluster, alertmanager):
    service = make_service({"alertmanager_url": alertmanager.url})
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    alertmanager.set_active(HIGH)
    alertmanager.active[0]["status"] = {"state": "suppressed", "silencedBy": ["a1b2"], "inhibitedBy": []}
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 0


# --- restart ----------------------------------------------------------------------------------

def test_a_restart_keeps_what_is_still_active_and_restores_the_rest(make_service, cluster, alertmanager):
    opt_in(cluster, name="de")
    cluster.namespace("fr", {"gridshift.io/action": "scale-down", "gridshift.io/zone": "FR"})
    cluster.deployment("de", "web", replicas=3)
    cluster.deployment("fr", "web", replicas=4)
    fr_alert = alert("FR", "critical")
    first = make_service({"alertmanager_url": alertmanager.url})
    alertmanager.set_active(HIGH, fr_alert)
    first.reconcile()
    assert spec(cluster, "Deployment", "web", "de")["replicas"] == 0
    assert spec(cluster, "Deployment", "web", "fr")["replicas"] == 2
    first.reconciler.stop()  # the pod is gone; FR resolves while it is down

    alertmanager.set_active(HIGH)
    second = make_service({"alertmanager_url": alertmanager.url})
    mark = cluster.mark()
    second.reconcile()
    assert spec(cluster, "Deployment", "web", "de")["replicas"] == 0  # still held, not touched
    assert cluster.patches("de", since=mark) == []
    assert spec(cluster, "Deployment", "web", "fr")["replicas"] == 4  # restored from its annotation
    assert second.metric("gridshift_held_workloads", namespace="de", action="pause") == 1

    alertmanager.set_active()
    third = make_service({"alertmanager_url": alertmanager.url})
    third.reconcile()
    assert spec(cluster, "Deployment", "web", "de")["replicas"] == 3
    assert all(STATE not in cluster.annotations("Deployment", ns, "web") for ns in ("de", "fr"))


def test_a_restart_without_alertmanager_keeps_the_holds_until_it_hears_of_the_alert(make_service, cluster, clock):
    """Issue 19 defect 3: the first pass after a start had an empty book and restored every held
    workload as "the alert resolved" (339 of 520 in 12 s), held again when the alert was heard.
    Now a hold is kept until the first webhook (or Alertmanager sync), max-delay still bounding it."""
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    cluster.cronjob("team-a", "nightly")
    first = make_service()
    first.notify(HIGH)
    first.reconcile()
    first.reconciler.stop()
    second = make_service()
    mark = cluster.mark()
    second.reconcile()
    assert cluster.patches(since=mark) == []  # nothing undone on a start
    assert spec(cluster, "Deployment", "web")["replicas"] == 0 and spec(cluster, "CronJob", "nightly")["suspend"] is True
    assert second.metric("gridshift_held_workloads", namespace="team-a", action="pause") == 2  # kept, and counted
    second.notify(resolved(HIGH))  # heard: the alert resolved
    second.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3
    assert spec(cluster, "CronJob", "nightly")["suspend"] is False


def test_a_hold_kept_after_a_start_still_ends_at_max_delay(make_service, cluster, clock):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    first = make_service()
    first.notify(HIGH)
    first.reconcile()
    first.reconciler.stop()
    clock.advance(25 * 3600)  # past the default 24 h max-delay, nothing heard since the start
    second = make_service()
    second.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3
    [entry] = [d for d in second.decisions() if d["name"] == "web"]
    assert "max-delay" in entry["reason"]


def test_a_start_with_alertmanager_down_keeps_the_holds(make_service, cluster, alertmanager):
    opt_in(cluster)
    cluster.deployment("team-a", "web", replicas=3)
    first = make_service({"alertmanager_url": alertmanager.url})
    alertmanager.set_active(HIGH)
    first.reconcile()
    first.reconciler.stop()
    alertmanager.status = 503
    second = make_service({"alertmanager_url": alertmanager.url})
    second.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 0
    alertmanager.status = 200
    alertmanager.set_active()  # it resolved while the service was starting
    second.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3


# --- malformed annotations --------------------------------------------------------------------

BAD_STATES = {
    "not-json": "{paused",
    "wrong-version": json.dumps({"version": 2, "action": "pause"}),
    "unknown-action": json.dumps({"version": 1, "action": "delete", "original": {}, "applied": {}, "since": "2026-11-25T09:00:00Z"}),
    "fields-mismatch": json.dumps({"version": 1, "action": "pause", "original": {"/spec/replicas": 3}, "applied": {},
                                   "since": "2026-11-25T09:00:00Z"}),
    "not-a-pointer": json.dumps({"version": 1, "action": "pause", "original": {"spec.replicas": 3},
                                 "applied": {"spec.replicas": 0}, "since": "2026-11-25T09:00:00Z"}),
    "bad-since": json.dumps({"version": 1, "action": "pause", "original": {"/spec/replicas": 3},
                             "applied": {"/spec/replicas": 0}, "since": "last tuesday"}),
    "a-list": "[1, 2, 3]",
    "huge": json.dumps({"version": 1, "pad": "x" * 20000}),
}


@pytest.mark.parametrize("name", sorted(BAD_STATES))
def test_a_malformed_state_annotation_skips_that_workload_only(service, cluster, name):
    opt_in(cluster)
    cluster.deployment("team-a", "broken", replicas=0, annotations={STATE: BAD_STATES[name]})
    cluster.deployment("team-a", "web", replicas=3)
    opt_in(cluster, name="team-b")
    cluster.deployment("team-b", "api", replicas=2)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.patches("team-a", "broken") == []
    assert spec(cluster, "Deployment", "web")["replicas"] == 0
    assert spec(cluster, "Deployment", "api", "team-b")["replicas"] == 0
    broken = [d for d in service.decisions() if d["name"] == "broken"]
    assert len(broken) == 1 and broken[0]["result"] == "skipped" and "state annotation" in broken[0]["reason"]
    assert service.reconciler.last_error is None

    service.notify(resolved(HIGH))
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3
    assert cluster.patches("team-a", "broken") == []
    assert cluster.annotations("Deployment", "team-a", "broken")[STATE] == BAD_STATES[name]


@pytest.mark.parametrize(("key", "value"), [
    ("scale-factor", "2"), ("scale-factor", "0"), ("scale-factor", "half"), ("min-replicas", "-1"),
    ("min-replicas", "two"), ("max-delay", "forever"), ("max-delay", "-5m"), ("level", "low"), ("action", "sleep"),
    ("fallback", "delete"), ("on-green", "yes"),
])
def test_a_malformed_namespace_annotation_is_skipped_and_a_held_workload_restored(service, cluster, key, value):
    opt_in(cluster, action="scale-down")
    cluster.deployment("team-a", "held", replicas=4)
    opt_in(cluster, name="team-b")
    cluster.deployment("team-b", "api", replicas=2)
    service.notify(HIGH)
    service.reconcile()
    assert spec(cluster, "Deployment", "held")["replicas"] == 2

    annotations = {"gridshift.io/action": "scale-down", "gridshift.io/zone": "DE_LU", f"gridshift.io/{key}": value}
    set_namespace_annotations(cluster, "team-a", annotations)
    cluster.deployment("team-a", "fresh", replicas=4)
    service.reconcile()
    assert spec(cluster, "Deployment", "held")["replicas"] == 4  # restored, not stranded
    assert STATE not in cluster.annotations("Deployment", "team-a", "held")
    assert cluster.patches("team-a", "fresh") == []
    fresh = [d for d in service.decisions() if d["name"] == "fresh"]
    assert fresh[0]["result"] == "skipped" and f"gridshift.io/{key}" in fresh[0]["reason"]
    held = [d for d in service.decisions() if d["name"] == "held"][0]
    assert held["decision"] == "restore" and "annotation unusable" in held["reason"]
    assert spec(cluster, "Deployment", "api", "team-b")["replicas"] == 0  # others still processed
    assert service.reconciler.last_error is None and service.reconciler.passes == 2

    mark = cluster.mark()
    service.reconcile()  # stays so, no flapping
    assert cluster.patches(since=mark) == []


def test_a_held_workload_deleted_meanwhile_does_not_break_the_pass(service, cluster):
    opt_in(cluster)
    cluster.deployment("team-a", "gone", replicas=3)
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    del cluster.emu.objects["apps/v1/deployments", "team-a", "gone"]
    service.notify(resolved(HIGH))
    service.reconcile()
    assert spec(cluster, "Deployment", "web")["replicas"] == 3
