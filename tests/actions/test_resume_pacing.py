"""Issue 19 item 4: one threshold crossing that releases many held workloads resumes them soonest
deadline first, at most actions.max_resumes_per_minute in any minute and none while
actions.max_pending_pods pods are Pending; what waits stays held, as recorded, until a later pass."""

from __future__ import annotations

from tests.actions.conftest import alert, resolved

HIGH = alert("DE_LU", "high")


def held_fleet(cluster, clock, service, count: int) -> list[str]:
    """`count` Deployments held one minute apart, so their max-delay deadlines are in that order."""
    cluster.namespace("fleet", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    names = [f"web-{index:02d}" for index in range(count)]
    service.notify(HIGH)
    for name in names:
        cluster.deployment("fleet", name, replicas=2)
        service.reconcile()
        clock.advance(60)
    assert all(cluster.get("Deployment", "fleet", name)["spec"]["replicas"] == 0 for name in names)
    return names


def running(cluster, names: list[str]) -> list[str]:
    return [name for name in names if cluster.get("Deployment", "fleet", name)["spec"]["replicas"] == 2]


def test_a_release_of_many_resumes_them_at_the_rate_soonest_deadline_first(make_service, cluster, clock):
    service = make_service({"max_resumes_per_minute": 4})
    names = held_fleet(cluster, clock, service, 10)
    service.notify(resolved(HIGH))
    first = service.reconciler.run_pass()
    assert running(cluster, names) == names[:4]  # held longest: nearest their max-delay
    assert first.wake_at == clock.now + 60  # the next pass when the minute has room
    assert service.metric("gridshift_actions_restores_waiting") == 6
    assert service.metric("gridshift_held_workloads", namespace="fleet", action="pause") == 6
    clock.advance(30)
    service.reconcile()
    assert running(cluster, names) == names[:4]  # within the minute: no more
    clock.advance(31)
    service.reconcile()
    assert running(cluster, names) == names[:8]
    clock.advance(61)
    service.reconcile()
    assert running(cluster, names) == names and service.metric("gridshift_actions_restores_waiting") == 0
    assert all(cluster.state("Deployment", "fleet", name) is None for name in names)


def test_no_resume_while_the_pending_pods_are_at_the_cap(make_service, cluster, clock, k8s):
    service = make_service({"max_pending_pods": 3})
    names = held_fleet(cluster, clock, service, 4)
    cluster.node("node-1", zone="DE_LU")
    pending = [k8s.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"queued-{i}", "namespace": "other"},
                        "spec": {"containers": [{"name": "main", "image": "x"}]}, "status": {"phase": "Pending"}})
               for i in range(3)]
    cluster.pod("other", "running-1", "node-1")  # Running: not counted
    service.notify(resolved(HIGH))
    result = service.reconciler.run_pass()
    assert running(cluster, names) == [] and result.wake_at == clock.now + 10
    for pod in pending[:2]:  # two of them scheduled and started
        cluster.set("Pod", "other", pod["metadata"]["name"], lambda p: p["status"].update(phase="Running"))
    clock.advance(10)
    service.reconcile()
    assert running(cluster, names) == names[:2]  # room for two
