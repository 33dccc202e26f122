"""Plans for deferrable work (docs/actions.md "Plans"): which workloads are planned, what work a
plan is made for, and which alert lets a plan hold work. policy.py turns them into decisions.

How alerts and plans combine (docs/actions.md "Plans"):
- Work that has not started (a CronJob's next run, a Job created suspended with
  `gridshift.io/start: planned`) is planned whenever the zone has a forecast: waiting for its
  window interrupts nothing, and it opted in to wait (its slack).
- Running work (a Job that checkpoints) is paused by a plan only while an alert of the zone says
  waiting pays: the namespace's High or Critical, or GridCarbonGreenerWindowAhead (the exporter's
  forecast shows an hour of the coming day clearly greener than now). Interruptions stay
  alerting-driven, and Alertmanager shows why work waits.
- Once work is held, its plan decides when it runs, re-planned at every pass, and at the latest
  at its deadline less its length; an alert resolving does not cut a plan short.
- Without a forecast for the zone, work is held as before: on the alert, until it resolves or
  max-delay; a Job waiting to be started is started at once.
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
    """A CronJob's runs under `pause` or `scale-down` (both suspend it), a Job under `pause`
    (`scale-down` narrows a Job's parallelism instead: it is not planned)."""
    if kind is kinds.CRONJOB:
        return action in PLANNED_ACTIONS
    return kind is kinds.JOB and action == "pause"


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


def job_run(kind: Kind, obj: Mapping[str, Any], *, duration: float | None, deadline: float | None, max_delay: float,
            learned: Mapping[str, float], default_duration: float, now: float, origin: float, ran_until: float,
            running: bool, checkpoints: bool, earliest: float | None = None) -> Run:
    """The run of a Job or CronJob. `origin`: when its slack started counting (a Job's creation,
    the hold of a CronJob's run), so the deadline is the `deadline` annotation, else origin +
    length + max-delay; a Job that checkpoints has done what it ran by `ran_until`. It must start
    (again) by the deadline less the work left."""
    length, source = jobs.expected_seconds(kind, obj, annotated=duration, learned=learned, default=default_duration)
    done = jobs.run_so_far(obj, ran_until) if kind is kinds.JOB and checkpoints else 0.0
    remaining = max(60.0, length - done)
    due = deadline if deadline is not None else origin + length + max_delay
    work = planner.Work(remaining_seconds=remaining, earliest=earliest if earliest is not None else now,
                        latest_start=due - remaining, checkpoints=checkpoints, running=running)
    return Run(length, source, work)


def slack_origin(kind: Kind, obj: Mapping[str, Any], *, fallback: float) -> float:
    """When a Job's slack started counting: its creation (else its start); `fallback` otherwise."""
    if kind is not kinds.JOB:
        return fallback
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    found = jobs.moment(meta.get("creationTimestamp")) or jobs.moment(status.get("startTime"))
    return min(found, fallback) if found is not None else fallback


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
