"""`gridshift report`'s width-over-time section: entries it cannot read are left out, and the
Markdown says so when nothing was resized (the service's own log is checked in
tests/actions/test_elastic_service.py)."""

from __future__ import annotations

from gridshift.report.timerange import TimeRange, iso
from gridshift.report.widths import widths_over_time

HOUR = 3600.0
T0 = 1_795_600_800.0


def at(hours: float) -> str:
    return iso(T0 + hours * HOUR)


def entry(time: str, decision: str, before, after, result: str = "applied", **extra) -> dict:
    return {"time": time, "kind": "Deployment", "name": "workers", "decision": decision, "result": result,
            "action": "elastic", "before": before, "after": after, **extra}


def test_width_changes_and_unreadable_entries():
    span = TimeRange(T0, T0 + 4 * HOUR, 600.0)
    decisions = [
        entry(at(1), "resize", {"/spec/replicas": 1}, {"/spec/replicas": 4}),
        entry(at(0), "hold", {"/spec/replicas": 3}, {"/spec/replicas": 1}),
        entry(at(2), "restore", {"/spec/replicas": 4}, {"/spec/replicas": 3}, result="restored"),
        entry("not a time", "resize", {"/spec/replicas": 4}, {"/spec/replicas": 2}),
        entry(at(2.2), "resize", {"/spec/replicas": 3}, {"/spec/replicas": "two"}),
        entry(at(2.5), "resize", {"/spec/replicas": 3}, {"/spec/replicas": 2}, result="failed"),
        {**entry(at(0), "hold", {"/spec/replicas": 3}, {"/spec/replicas": 0}), "action": "pause"},
    ]
    [row] = widths_over_time(decisions, span)
    assert row.own_width == 3 and [w for _, w in row.changes] == [1, 4, 3]
    assert row.mean_width() == (1 + 4 + 3 + 3) / 4
    assert row.as_dict()["mean_width"] == 2.75
    assert widths_over_time([], span) == []
