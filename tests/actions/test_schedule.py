"""A CronJob is held from shortly before its next run (actions/schedule.py, policy.hold_from).

Covers: the next run by the schedule in UTC, in the CronJob's timeZone, by macro; schedules and
zones gridshift cannot read (None: held at once, as any workload); through the service on the
emulated API: under an alert from 09:00, a nightly CronJob is left alone (a skip saying when it
will be held) until two reconcile intervals before its 02:00 run, then held for max-delay; an
unreadable schedule is held at once and restored after max-delay.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gridshift.actions.schedule import next_run
from tests.actions.conftest import alert

HIGH = alert("DE_LU", "high")
MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc).timestamp()  # conftest's START
HOUR = 3600


def cronjob(schedule, zone=None):
    spec = {"schedule": schedule}
    if zone is not None:
        spec["timeZone"] = zone
    return {"spec": spec}


@pytest.mark.parametrize(("schedule", "zone", "expected"), [
    ("0 2 * * *", None, "2026-11-26T02:00:00+00:00"),
    ("*/15 * * * *", None, "2026-11-25T09:15:00+00:00"),
    ("@daily", None, "2026-11-26T00:00:00+00:00"),
    ("0 2 * * *", "Europe/Berlin", "2026-11-26T01:00:00+00:00"),  # 02:00 CET is 01:00 UTC
    ("30 9 * * 1-5", "UTC", "2026-11-25T09:30:00+00:00"),
])
def test_next_run(schedule, zone, expected):
    moment = next_run(cronjob(schedule, zone), after=MORNING)
    assert datetime.fromtimestamp(moment, timezone.utc).isoformat() == expected


@pytest.mark.parametrize("obj", [
    cronjob("61 * * * *"), cronjob("not a schedule"), cronjob(""), cronjob("0 2 * * *", "Mars/Olympus"),
    {"spec": {"schedule": 5}}, {"spec": {}}, {},
])
def test_unreadable_schedules_give_none(obj):
    assert next_run(obj, after=MORNING) is None


def opt_in(cluster, max_delay):
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU",
                                 "gridshift.io/max-delay": max_delay})


def suspended(cluster):
    return cluster.get("CronJob", "team-a", "nightly")["spec"]["suspend"]


def test_a_nightly_cronjob_is_held_from_shortly_before_its_run(service, cluster, clock):
    """Suspended at 09:00, a nightly CronJob would spend its max-delay before its 02:00 run: it is
    held from two reconcile intervals (the tests' 1 h) before the run, then for max-delay."""
    opt_in(cluster, "3h")
    cluster.cronjob("team-a", "nightly")
    cluster.set("CronJob", "team-a", "nightly", lambda obj: obj["spec"].update(schedule="0 2 * * *"))
    service.notify(HIGH)
    service.reconcile()
    assert suspended(cluster) is False
    assert "its next run is at 2026-11-26T02:00:00Z: held from 120 min before it" in service.decisions()[0]["reason"]
    assert not cluster.patches()
    clock.advance(15 * HOUR - 1)  # 23:59:59
    service.reconcile()
    assert suspended(cluster) is False
    clock.advance(1)  # 00:00, two hours before the run
    service.reconcile()
    assert suspended(cluster) is True
    clock.advance(3 * HOUR - 1)
    service.reconcile()
    assert suspended(cluster) is True
    clock.advance(1)  # held for max-delay: the 02:00 run starts at 03:00
    service.reconcile()
    assert suspended(cluster) is False
    assert "max-delay" in service.decisions()[0]["reason"]


def test_an_unreadable_schedule_is_held_at_once(service, cluster, clock):
    opt_in(cluster, "3h")
    cluster.cronjob("team-a", "nightly")
    cluster.set("CronJob", "team-a", "nightly", lambda obj: obj["spec"].update(schedule="0 2 * * * * * *"))
    service.notify(HIGH)
    service.reconcile()
    clock.advance(3 * HOUR)
    service.reconcile()
    assert suspended(cluster) is False
