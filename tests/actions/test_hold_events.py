"""Issue 19 defect 7: an Event was written after its patch and never again, so a crash (or a
refused write) between the two lost it: 520 holds, 510 Events. A hold's GridshiftHeld Event now
has a name of its own; a pass that keeps a hold whose Event is not known to be recorded writes it,
and a second write of one that was is the API's 409, so each hold has exactly one."""

from __future__ import annotations

from tests.actions.conftest import alert

HIGH = alert("DE_LU", "high")


def opted(cluster) -> None:
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=3)


def held_events(cluster) -> list[dict]:
    return cluster.events("team-a", "web", reason="GridshiftHeld")


def test_an_event_refused_after_its_patch_is_written_at_the_next_pass(service, cluster, k8s) -> None:
    opted(cluster)
    k8s.inject("POST", "events", status=500)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0 and held_events(cluster) == []
    service.reconcile()
    [event] = held_events(cluster)
    assert "held since" in event["message"]
    service.reconcile()
    assert len(held_events(cluster)) == 1  # known now: not written again


def test_an_event_lost_in_a_crash_is_written_after_the_restart(make_service, cluster, k8s) -> None:
    opted(cluster)
    first = make_service()
    k8s.inject("POST", "events", status=503)  # the process dies before its Event lands
    first.notify(HIGH)
    first.reconcile()
    first.reconciler.stop()
    second = make_service()
    second.notify(HIGH)
    second.reconcile()
    assert len(held_events(cluster)) == 1


def test_a_restart_does_not_write_a_second_event_for_a_hold(make_service, cluster) -> None:
    opted(cluster)
    first = make_service()
    first.notify(HIGH)
    first.reconcile()
    assert len(held_events(cluster)) == 1
    first.reconciler.stop()
    second = make_service()
    second.notify(HIGH)
    second.reconcile(2)
    assert len(held_events(cluster)) == 1  # the 409 of the same name: it was recorded
