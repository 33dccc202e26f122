"""Issue 19 item 3: leader election through a coordination.k8s.io Lease on the emulator, with the
real kubernetes client. One candidate of two (or of eight racing) leads; a leader that stops
renewing stops writing by its own clock before another takes over by its own; a leader that
stops gives the Lease up; and a leader cut off in the middle of a pass leaves nothing stranded
and nothing handled twice once the other replica takes over."""

from __future__ import annotations

import logging
import threading

import pytest

from gridshift.actions.kube.lease import LeaseElector
from gridshift.config import LeaderElectionSettings
from tests.actions.conftest import alert, resolved

NAMESPACE = "gridshift"
SETTINGS = LeaderElectionSettings(enabled=True)  # 15 s lease, 10 s renew deadline, 2 s retry
HIGH = alert("DE_LU", "high")


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def candidate(api, identity: str, clock: Monotonic | None = None) -> LeaseElector:
    return LeaseElector(api, SETTINGS, namespace=NAMESPACE, identity=identity, monotonic=clock or Monotonic())


def lease(k8s) -> dict:
    return k8s.state("coordination.k8s.io/v1/leases", NAMESPACE, SETTINGS.lease_name)["spec"]


def test_one_leads_and_the_other_takes_over_only_after_a_lease_duration_of_its_own_clock(api, k8s):
    clock_a, clock_b = Monotonic(), Monotonic()
    a, b = candidate(api, "pod-a", clock_a), candidate(api, "pod-b", clock_b)
    assert a.try_acquire_or_renew() and not b.try_acquire_or_renew()
    assert b.holder == "pod-a" and lease(k8s)["holderIdentity"] == "pod-a"
    clock_a.now += 11  # pod-a cannot renew (partitioned, paused): past its renew deadline it stops
    assert not a.is_leader()
    clock_b.now += 14
    assert not b.try_acquire_or_renew()  # 14 s since pod-b saw the Lease change: not yet expired
    clock_b.now += 2
    assert b.try_acquire_or_renew() and b.is_leader()
    spec = lease(k8s)
    assert spec["holderIdentity"] == "pod-b" and spec["leaseTransitions"] == 1
    assert not a.try_acquire_or_renew() and a.holder == "pod-b"  # pod-a is back: it follows


def test_the_leader_renews_and_keeps_the_lease(api, k8s):
    clock_a, clock_b = Monotonic(), Monotonic()
    a, b = candidate(api, "pod-a", clock_a), candidate(api, "pod-b", clock_b)
    a.try_acquire_or_renew()
    b.try_acquire_or_renew()
    for _ in range(10):  # 20 s of renewals every 2 s: the Lease never looks expired to pod-b
        clock_a.now += 2
        clock_b.now += 2
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew()
    assert lease(k8s)["leaseTransitions"] == 0


def test_a_leader_that_stops_gives_the_lease_up_and_the_other_takes_it_at_once(api, k8s):
    a, b = candidate(api, "pod-a"), candidate(api, "pod-b")
    a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a.stop()
    assert not a.is_leader() and lease(k8s)["holderIdentity"] in (None, "")
    assert b.try_acquire_or_renew()  # no lease duration to wait


def test_of_eight_candidates_racing_for_a_new_lease_exactly_one_leads(api, k8s):
    candidates = [candidate(api, f"pod-{i}") for i in range(8)]
    start = threading.Barrier(len(candidates))
    won: list[str] = []

    def run(elector: LeaseElector) -> None:
        start.wait()
        if elector.try_acquire_or_renew():
            won.append(elector.identity)

    threads = [threading.Thread(target=run, args=(elector,)) for elector in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(won) == 1 and lease(k8s)["holderIdentity"] == won[0]


def test_an_api_server_that_fails_is_logged_and_leaves_no_leader(api, k8s, caplog):
    clock = Monotonic()
    a = candidate(api, "pod-a", clock)
    assert a.try_acquire_or_renew()
    k8s.inject("GET", "leases", status=500, times=None)
    clock.now += 5
    with caplog.at_level(logging.WARNING, logger="gridshift.actions.kube.lease"):
        assert a.try_acquire_or_renew()  # renewed 5 s ago: still within the renew deadline
        clock.now += 6
        assert not a.try_acquire_or_renew() and not a.is_leader()
    assert "HTTP 500" in caplog.text


def test_leader_election_without_a_namespace_refuses_to_start(make_service):
    from gridshift.actions.app import CannotStart

    with pytest.raises(CannotStart, match="POD_NAMESPACE"):
        make_service({"leader_election": {"enabled": True}})


# --- two replicas of the service ---------------------------------------------------------------

def replicas(make_service, cluster, namespaces: int = 4):
    for index in range(namespaces):
        name = f"team-{index}"
        cluster.namespace(name, {"gridshift.io/action": "scale-down", "gridshift.io/zone": "DE_LU"})
        for workload in ("api", "worker"):
            cluster.deployment(name, workload, replicas=3)
    built = []
    for identity in ("pod-a", "pod-b"):
        service = make_service({"leader_election": {"enabled": True}}, release_namespace=NAMESPACE, identity=identity)
        service.service.elector.monotonic = Monotonic()
        built.append(service)
    return built


def holds_per_workload(cluster) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for request in cluster.patches():
        if request.name and request.namespace.startswith("team-"):
            counts[request.namespace, request.name] = counts.get((request.namespace, request.name), 0) + 1
    return counts


def test_a_follower_acts_on_nothing_and_serves_webhooks(make_service, cluster):
    leader, follower = replicas(make_service, cluster)
    assert leader.service.elector.try_acquire_or_renew() and not follower.service.elector.try_acquire_or_renew()
    follower.notify(HIGH)  # Alertmanager's webhook reached the follower's pod
    follower.reconciler.start()  # its loop: it follows, runs no pass
    assert follower.reconciler.wait_idle(10)
    assert cluster.patches() == [] and follower.service.book.active() and follower.reconciler.passes == 0
    ready = follower.client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["role"] == "follower"
    assert ready.get_json()["leader"] == "pod-a" and follower.metric("gridshift_actions_leader") == 0
    follower.reconcile()  # a pass forced on it all the same: its first write is refused, nothing sent
    assert cluster.patches() == [] and "does not hold the leader Lease" in follower.reconciler.last_error


def test_the_leader_cut_off_mid_pass_leaves_nothing_stranded_and_nothing_handled_twice(make_service, cluster):
    a, b = replicas(make_service, cluster)
    assert a.service.elector.try_acquire_or_renew() and not b.service.elector.try_acquire_or_renew()
    writes = {"count": 0}

    def lose_the_lease_after_five_writes() -> None:  # pod-a cut off from the API server mid-pass
        writes["count"] += 1
        if writes["count"] == 5:
            a.service.elector.monotonic.now += SETTINGS.renew_deadline_seconds + 1

    a.service.kube.on_write = lose_the_lease_after_five_writes
    a.notify(HIGH)
    b.notify(HIGH)
    a.reconcile()
    assert writes["count"] == 5 and "does not hold the leader Lease" in a.service.reconciler.last_error
    held_by_a = holds_per_workload(cluster)
    assert 0 < len(held_by_a) < 8  # some held, the pass ended at the sixth write

    b.service.elector.monotonic.now += SETTINGS.lease_duration_seconds + 1
    assert b.service.elector.try_acquire_or_renew()
    b.reconcile()
    counts = holds_per_workload(cluster)
    assert len(counts) == 8 and set(counts.values()) == {1}  # every workload held, each exactly once
    for namespace in (f"team-{i}" for i in range(4)):
        for name in ("api", "worker"):
            assert cluster.state("Deployment", namespace, name)["action"] == "scale-down"
            assert cluster.get("Deployment", namespace, name)["spec"]["replicas"] < 3
            assert len(cluster.events(namespace, name, reason="GridshiftHeld")) == 1
    a.reconcile()  # pod-a, back, follows: it writes nothing
    assert holds_per_workload(cluster) == counts

    b.notify(resolved(HIGH))
    b.reconcile()
    for namespace in (f"team-{i}" for i in range(4)):
        for name in ("api", "worker"):
            restored = cluster.get("Deployment", namespace, name)
            assert restored["spec"]["replicas"] == 3 and cluster.state("Deployment", namespace, name) is None
