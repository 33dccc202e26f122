"""Issue 19 item 4: every write to the API server passes one token bucket
(actions.max_writes_per_second), so a threshold crossing that holds or releases many workloads
does not send them in the same second; measured at the emulator, where the requests arrive."""

from __future__ import annotations

import bisect
import time

import pytest

from gridshift.actions.kube.writes import NotLeader, WriteGate
from tests.actions.conftest import alert

HIGH = alert("DE_LU", "high")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def most_in_a_second(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def test_writes_are_spaced_by_the_rate():
    fake = FakeTime()
    gate = WriteGate(20, clock=fake.clock, sleep=fake.sleep)
    sent = []
    for _ in range(100):
        gate.admit("patch")
        sent.append(fake.now)
    assert most_in_a_second(sent) == 19  # 55 ms apart: 5 ms for the way to the API server
    assert fake.now == pytest.approx(99 * 0.055)  # the first at once, then one every 55 ms


def test_a_write_after_a_quiet_spell_goes_at_once():
    fake = FakeTime()
    gate = WriteGate(5, clock=fake.clock, sleep=fake.sleep)
    gate.admit("patch")
    fake.now += 60
    gate.admit("patch")
    assert fake.slept == 0


def test_a_write_waiting_for_its_turn_is_refused_once_the_lease_is_lost():
    fake = FakeTime()
    leading = {"now": True}

    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        leading["now"] = False  # the lease lapsed while it waited

    gate = WriteGate(1, is_leader=lambda: leading["now"], clock=fake.clock, sleep=sleep)
    gate.admit("patch one")
    with pytest.raises(NotLeader, match="patch two not sent"):
        gate.admit("patch two")


def test_the_rate_must_be_positive():
    with pytest.raises(ValueError):
        WriteGate(0)


def test_a_hold_of_many_workloads_reaches_the_api_server_at_the_rate(make_service, cluster, k8s):
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    for index in range(12):
        cluster.deployment("team-a", f"web-{index}", replicas=2)
    arrivals: list[float] = []
    service = make_service({"max_writes_per_second": 8})
    original = service.service.kube.on_write

    def noted() -> None:
        arrivals.append(time.monotonic())
        if original is not None:
            original()

    service.service.kube.on_write = noted
    service.notify(HIGH)
    service.reconcile()
    assert all(cluster.get("Deployment", "team-a", f"web-{i}")["spec"]["replicas"] == 0 for i in range(12))
    assert len(arrivals) == 24  # a patch and an Event each
    assert most_in_a_second(arrivals) <= 8
    assert service.metric("gridshift_actions_kube_writes_total") == 24
    assert service.metric("gridshift_actions_kube_write_wait_seconds_total") > 2
