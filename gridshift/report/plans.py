"""Planned against actual: each workload's plan as the decision log recorded it (issue 17,
docs/actions.md "Plans") beside when it really started and the intensity measured then. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gridshift.report.series import Grid
from gridshift.report.timerange import TimeRange

PLANNED = ("hold", "keep", "wait", "skip")  # decisions that carry a plan the workload waits (or runs) on
RELEASED = {"start": "applied", "restore": "restored"}  # the decision that let it run, and its result


@dataclass(frozen=True)
class PlanRow:
    kind: str
    name: str
    zone: str
    planned_at: float  # when the first plan was made
    first_release: float  # what that plan said
    last_release: float  # what the newest plan before the release said
    expected_grams_per_kwh: float  # over the planned run, by the forecast
    at_once_grams_per_kwh: float  # had it run at once, by the forecast
    released_at: float | None  # None: still waiting at the end of the range
    measured_grams_per_kwh: float | None  # the zone's measured intensity when it was released

    @property
    def late_seconds(self) -> float | None:
        """How much later than its last plan it was released (negative: earlier)."""
        return None if self.released_at is None else self.released_at - self.last_release

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "zone": self.zone, "planned_at": self.planned_at,
                "first_planned_release": self.first_release, "last_planned_release": self.last_release,
                "released_at": self.released_at, "expected_grams_per_kwh": self.expected_grams_per_kwh,
                "at_once_grams_per_kwh": self.at_once_grams_per_kwh, "measured_grams_per_kwh": self.measured_grams_per_kwh}


def planned_against_actual(decisions: Sequence[Mapping[str, Any]], intensity: Mapping[str, Grid],
                           span: TimeRange) -> list[PlanRow]:
    """One row per workload the log shows planned, oldest plan first. Entries the log cannot
    read (no time, no plan fields) are left out rather than guessed."""
    by_workload: dict[tuple[str, str], list[tuple[float, Mapping[str, Any]]]] = {}
    for entry in decisions:
        moment = _epoch(entry.get("time"))
        if moment is not None:
            by_workload.setdefault((str(entry.get("kind", "")), str(entry.get("name", ""))), []).append((moment, entry))
    rows = []
    for (kind, name), entries in by_workload.items():
        row = _row(kind, name, sorted(entries, key=lambda item: item[0]), intensity, span)
        if row is not None:
            rows.append(row)
    return sorted(rows, key=lambda r: (r.planned_at, r.kind, r.name))


def _row(kind: str, name: str, entries: list[tuple[float, Mapping[str, Any]]], intensity: Mapping[str, Grid],
         span: TimeRange) -> PlanRow | None:
    plans = [(moment, entry, plan) for moment, entry in entries
             if entry.get("decision") in PLANNED and (plan := _plan(entry.get("plan"))) is not None and not plan[3]]
    if not plans:
        return None
    first_at, first_entry, first = plans[0]
    released = next(((moment, entry) for moment, entry in entries if moment >= first_at
                     and RELEASED.get(str(entry.get("decision"))) == entry.get("result")), None)
    before = [plan for moment, _, plan in plans if released is None or moment <= released[0]]
    last = before[-1] if before else first
    zone = str(first_entry.get("zone") or "")
    measured = _at(intensity.get(zone), released[0], span) if released is not None else None
    return PlanRow(kind=kind, name=name, zone=zone, planned_at=first_at, first_release=first[0], last_release=last[0],
                   expected_grams_per_kwh=first[1], at_once_grams_per_kwh=first[2],
                   released_at=released[0] if released else None, measured_grams_per_kwh=measured)


def _plan(value: Any) -> tuple[float, float, float, bool] | None:
    """(release, expected, at once, runs now) from a decision's `plan`; None when unreadable."""
    if not isinstance(value, Mapping):
        return None
    release = _epoch(value.get("release_at"))
    expected, at_once = value.get("expected_grams_per_kwh"), value.get("at_once_grams_per_kwh")
    if release is None or not isinstance(expected, int | float) or not isinstance(at_once, int | float):
        return None
    return release, float(expected), float(at_once), bool(value.get("runs_now"))


def _at(grid: Grid | None, moment: float, span: TimeRange) -> float | None:
    if grid is None or not grid:
        return None
    index = round((moment - span.start) / span.step)
    return grid[index] if 0 <= index < len(grid) else None


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
