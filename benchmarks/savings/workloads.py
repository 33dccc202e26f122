"""The workloads the benchmark runs, and what each run of one costs.

- batch: a Job of `hours` of work that cannot checkpoint, started by a CronJob, in a namespace
  with `gridshift.io/interruptible: "false"` (docs/actions.md's advice for such jobs): gridshift
  suspends the CronJob while the grid is dirty, which defers the next start (the CronJob
  controller starts a missed run when resumed, within `startingDeadlineSeconds`), and never
  suspends a running Job.
- training: a Job that checkpoints: paused and resumed, it continues where it stopped.
- restart: a Job that cannot checkpoint but is left `interruptible` (the default): suspending
  it ends its pods and the work done is lost (Kubernetes' Job suspend semantics). Measured to
  show what that costs.
- service: a Deployment of `replicas` that may run with fewer (`floor`) while the grid is dirty.

Every job draws 1 kW while it runs, so grams are gCO2eq per kW and results read as shares.
A job is due `slack_hours` after it could have finished had it started at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Protocol

from croniter import croniter

from benchmarks.savings.grid import DAY, HOUR, Grid

# 73 = 3 x 24 + 1 and is prime to the week's 168 hours: successive arrivals walk through every hour
# of the day (one later each time) and every weekday (three days on each time), and through all 168
# hours of the week in 168 arrivals (a year holds about 120).
ARRIVAL_SPACING_HOURS = 73
# Scheduled (batch) arrivals: SCHEDULE_CRONJOBS CronJobs per cell, SCHEDULE_STEP_HOURS apart (JobSpec.schedules).
SCHEDULE_CRONJOBS = 6
SCHEDULE_STEP_HOURS = 24 // SCHEDULE_CRONJOBS
SCHEDULE_LAST_DAY = 26  # of the month: 26 runs a month, and every CronJob's runs 4 days apart or more


@dataclass(frozen=True)
class JobSpec:
    kind: str  # "batch" | "training" | "restart"
    hours: float
    slack_hours: float

    @property
    def checkpoints(self) -> bool:
        return self.kind == "training"

    @property
    def scheduled(self) -> bool:
        """Started by a CronJob: gridshift defers its start instead of interrupting it."""
        return self.kind == "batch"

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.hours:g}h-slack-{self.slack_hours:g}h"

    @property
    def schedules(self) -> dict[str, str]:
        """A scheduled job's CronJobs: six, at hours 4 h apart (`first`, `first` + 4, ... `first` + 20),
        the k-th on days k + 1, k + 7, k + 13, ... of the month up to the 26th (the job starts once a
        day, on 26 days a month: about 310 a year, six a week as before). Each CronJob starts on every
        weekday in turn as the days of the month move through the week, so one cell starts at six
        hours of every weekday; `first` (0-3) differs between lengths and slacks, so together the
        cells start at every hour of every weekday. The runs of one CronJob are at least 4 days
        apart (6 within a month, 4 across the end of February), as long as the longest max-delay
        (48 h) plus the longest job (48 h): a CronJob held for its max-delay never has a second run
        fall due before it is restored (Kubernetes would start only the later one)."""
        first = (int(self.hours) // 4 + int(self.slack_hours) // 6) % SCHEDULE_STEP_HOURS
        cronjobs = {}
        for k in range(SCHEDULE_CRONJOBS):
            hour = first + SCHEDULE_STEP_HOURS * k
            days = ",".join(str(day) for day in range(k + 1, SCHEDULE_LAST_DAY + 1, SCHEDULE_CRONJOBS))
            cronjobs[f"batch-{hour:02d}"] = f"0 {hour} {days} * *"
        return cronjobs


@dataclass(frozen=True)
class ServiceSpec:
    replicas: int = 4
    floor: int = 2

    @property
    def key(self) -> str:
        return f"service-{self.replicas}-floor-{self.floor}"


class Window(Protocol):
    """What a run's deadline is made of: its work at its own width, and its slack."""

    @property
    def hours(self) -> float: ...

    @property
    def slack_hours(self) -> float: ...


@dataclass
class Run:
    """One job from arrival to completion, as one policy ran it."""

    spec: Window
    arrival: float
    grams: float = 0.0
    kwh: float = 0.0
    finished: float | None = None
    actions: int = 0  # changes made to it (holds and restores; an elastic job's width changes)

    @property
    def deadline(self) -> float:
        return self.arrival + (self.spec.hours + self.spec.slack_hours) * HOUR

    @property
    def missed(self) -> bool:
        return self.finished is None or self.finished > self.deadline + 1e-6


@dataclass
class JobRun(Run):
    spec: JobSpec
    restarts: int = 0  # suspended while running without a checkpoint: work lost


@dataclass
class ServiceRun:
    spec: ServiceSpec
    begin: float
    end: float
    grams: float = 0.0
    replica_hours: float = 0.0
    actions: int = 0
    reduced: list[tuple[float, float, int]] = field(default_factory=list)  # (from, to, replicas fewer)


def arrivals(grid: Grid, spec: JobSpec) -> tuple[tuple[float, str | None], ...]:
    """(arrival, the CronJob that starts it or None), sorted, across the trace: after a first day
    (so a day-old forecast exists) and early enough that the job's whole window lies inside it."""
    return _arrivals(grid.start, grid.end, spec)


@lru_cache(maxsize=1024)
def _arrivals(start: float, end: float, spec: JobSpec) -> tuple[tuple[float, str | None], ...]:
    return tuple(_walk(start, end, spec))


def _walk(start: float, end: float, spec: JobSpec) -> Iterator[tuple[float, str | None]]:
    earliest = start + DAY
    latest = end - (spec.hours + spec.slack_hours) * HOUR - DAY
    if not spec.scheduled:
        moment = earliest
        while moment <= latest:
            yield moment, None
            moment += ARRIVAL_SPACING_HOURS * HOUR
        return
    found = []
    for name, schedule in spec.schedules.items():
        runs = croniter(schedule, datetime.fromtimestamp(earliest - 1, timezone.utc))
        while (moment := runs.get_next(float)) <= latest:
            found.append((moment, name))
    yield from sorted(found)


def service_window(grid: Grid) -> tuple[float, float]:
    return grid.start + DAY, grid.end - DAY
