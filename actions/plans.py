"""Plans for deferrable work (docs/actions.md "Plans"): which workloads are planned, what work a
plan is made for, and which alert lets a plan hold work. policy.py turns them into decisions.

How alerts and plans combine: a plan holds (or keeps waiting) new work only while an alert of
the zone says waiting pays: the namespace's High or Critical alert, or GridCarbonGreenerWindowAhead
(a clearly greener hour lies ahead in the exporter's forecast). Once work is held, its plan
decides when it runs, re-planned at every pass, and at the latest at its deadline less its
length; the alert resolving does not cut the plan short (the forecast still says when). Without
a forecast for the zone, holds work as before: on the alert, until it resolves or max-delay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridshift.actions import jobs, kinds, planner, schedule
from gridshift.actions.alerts import Alert
from gridshift.actions.kinds import Kind
from gridshift.actions.planner import Forecast, Plan, PlannerSettings

PLANNED_ACTIONS = ("pause", "scale-down")
WINDOW_LEVEL = "window"
LEVEL_RANK = {"high": 1, "critical": 2}


def plannable(kind: Kind, action: str) -> bool:
    """Jobs and CronJob runs under `pause` or `scale-down` (which suspends them) are planned."""
    return kind in (kinds.JOB, kinds.CRONJOB) and action in PLANNED_ACTIONS


def gate(zone: str | None, level: str, alerts: Sequence[Alert]) -> Alert | None:
    """The alert that lets a plan hold work in `zone`: its High/Critical (at `level` or above),
    else GridCarbonGreenerWindowAhead; None: nothing says waiting pays."""
    in_zone = [a for a in alerts if zone and a.zone == zone]
    floor = LEVEL_RANK[level]
    severe = sorted((a for a in in_zone if LEVEL_RANK.get(a.level or "", 0) >= floor),
                    key=lambda a: (-LEVEL_RANK[a.level or "high"], a.starts_at))
    if severe:
        return severe[0]
    window = sorted((a for a in in_zone if a.level == WINDOW_LEVEL), key=lambda a: a.starts_at)
    return window[0] if window else None


@dataclass(frozen=True)
class Run:
    """What a plan is made for: the run's length (and where that figure comes from) and its window."""

    duration_seconds: float
    duration_source: str
    work: planner.Work

    def describe(self) -> str:
        return f"{_hours(self.duration_seconds)} run ({self.duration_source})"


def job_run(kind: Kind, obj: Mapping[str, Any], *, duration: float | None, deadline: float | None,
            max_delay: float, held_before: float, learned: Mapping[str, float], default_duration: float,
            now: float, budget_from: float, running: bool, checkpoints: bool, earliest: float | None = None) -> Run:
    """The run of a Job or CronJob. `budget_from`: when its max-delay started counting (the hold's
    start, or the Job's creation for one that waits to start); a Job that checkpoints has done
    part of its work already. The latest start is the deadline less the work left, or max-delay
    after `budget_from` less the earlier holds."""
    length, source = jobs.expected_seconds(kind, obj, annotated=duration, learned=learned, default=default_duration)
    done = jobs.run_so_far(obj, min(now, budget_from) if not running else now) if kind is kinds.JOB and checkpoints else 0.0
    remaining = max(60.0, length - done)
    latest = deadline - remaining if deadline is not None else budget_from + max_delay - held_before
    work = planner.Work(remaining_seconds=remaining, earliest=earliest if earliest is not None else now,
                        latest_start=latest, checkpoints=checkpoints, running=running)
    return Run(length, source, work)


def cronjob_due(obj: Mapping[str, Any], *, after: float) -> float | None:
    return schedule.next_run(obj, after=after)


def plan_run(forecast: Forecast, run: Run, now: float, settings: PlannerSettings) -> Plan:
    return planner.plan(forecast, run.work, now, settings)


def summary(plan: Plan, run: Run) -> str:
    """The plan in a sentence: when, how green against now, and why."""
    green = f"{plan.expected_grams_per_kwh:.0f} g/kWh expected against {plan.now_grams_per_kwh:.0f} at once"
    return f"{plan.reason}; {run.describe()}, {green}"


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 10 and hours != int(hours) else f"{hours:.0f} h"
