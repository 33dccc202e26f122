"""When deferrable work runs: from the zone's forecast, the start of the greenest window before
its deadline (work that cannot be interrupted), or its greenest hours with a cost per
interruption (work that checkpoints). Pure: no clock, no I/O.

Whatever the forecast says, the plan never misses the deadline: at `latest_start` (the deadline
less the work left) the work runs, and a checkpointing job is not paused once the time left is
no more than its work. A forecast that ends before the deadline is extended by repeating its
last day (the daily cycle is the best guess of what lies beyond it), so a plan always covers the
whole window; every pass plans again with the newest forecast.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

HOUR = 3600.0
DAY = 24 * HOUR
EPSILON = 1e-6


@dataclass(frozen=True)
class Slot:
    """One forecast interval: its P50 and, where the forecaster gives it, its P90."""

    start: float
    end: float
    grams_per_kwh: float
    p90: float | None = None


@dataclass(frozen=True)
class Forecast:
    zone: str
    source: str
    slots: tuple[Slot, ...]  # sorted, disjoint; the first covers the present

    @property
    def end(self) -> float:
        return self.slots[-1].end if self.slots else 0.0


class ForecastSource(Protocol):
    def forecast(self, zone: str, now: float) -> Forecast | None: ...


@dataclass(frozen=True)
class PlannerSettings:
    # A checkpointing job's each run after a pause (and its first start) must be worth this share
    # of all the plan can save (running at once against its greenest hours): the plan pauses only
    # when that pays (no chatter), on a flat grid as on a peaky one.
    interruption_share: float = 0.1
    # Wait only for a window at least this much greener than running now (a fraction).
    min_gain: float = 0.0
    # A future slot costs P50 + risk x (P90 - P50): above 0 the plan trusts a greener window less.
    risk: float = 0.0


@dataclass(frozen=True)
class Work:
    remaining_seconds: float
    earliest: float  # it cannot start before (a CronJob run: its schedule)
    latest_start: float  # deadline - remaining: runs from then, whatever the forecast
    checkpoints: bool = False
    running: bool = False  # runs now: going on costs no interruption

    @property
    def deadline(self) -> float:
        return self.latest_start + self.remaining_seconds


@dataclass(frozen=True)
class Plan:
    run_now: bool
    release_at: float  # when it (next) runs: `now` when it runs now
    expected_grams_per_kwh: float  # mean forecast over the planned run
    now_grams_per_kwh: float  # mean forecast had it run from the earliest moment, uninterrupted
    until: float | None  # runs now and will be paused at this moment (checkpointing); None: to the end
    latest_start: float
    reason: str
    forced: bool = False  # the deadline leaves no choice

    @property
    def gain(self) -> float:
        """The share of carbon the plan expects to avoid against running at once."""
        if self.now_grams_per_kwh <= 0:
            return 0.0
        return 1 - self.expected_grams_per_kwh / self.now_grams_per_kwh


class Steps:
    """The forecast as a step function of time from `begin` to `end`, with prefix sums (g/kWh x s)."""

    def __init__(self, forecast: Forecast, begin: float, end: float, risk: float) -> None:
        starts, values = _extended(forecast, begin, end, risk)
        self.starts = starts
        self.values = values
        self.end = end
        bounds = [*starts[1:], end]
        self._sums = [0.0]
        for start, stop, value in zip(starts, bounds, values):
            self._sums.append(self._sums[-1] + value * (stop - start))

    def integral(self, moment: float) -> float:
        i = max(0, bisect.bisect_right(self.starts, moment) - 1)
        return self._sums[i] + self.values[i] * (moment - self.starts[i])

    def mean(self, begin: float, end: float) -> float:
        return (self.integral(end) - self.integral(begin)) / (end - begin) if end > begin else self.value(begin)

    def value(self, moment: float) -> float:
        return self.values[max(0, bisect.bisect_right(self.starts, moment) - 1)]


def _extended(forecast: Forecast, begin: float, end: float, risk: float) -> tuple[list[float], list[float]]:
    """(starts, costs) from `begin` to `end`: the forecast's slots, then its last day repeated."""
    slots = [s for s in forecast.slots if s.end > begin]
    if not slots:
        raise ValueError(f"the forecast for {forecast.zone} ends before {begin:.0f}")
    costs = [_cost(s, risk if i else 0.0) for i, s in enumerate(slots)]
    starts = [max(begin, slots[0].start), *(s.start for s in slots[1:])]
    covered = slots[-1].end
    period = min(DAY, covered - slots[0].start) or HOUR
    last_day = [(s, c) for s, c in zip(slots, costs) if s.start >= covered - period]
    repeat = 1
    while covered + (repeat - 1) * period < end:
        for slot, cost in last_day:
            starts.append(slot.start + repeat * period)
            costs.append(cost)
        repeat += 1
    return starts, costs


def _cost(slot: Slot, risk: float) -> float:
    if risk and slot.p90 is not None:
        return slot.grams_per_kwh + risk * max(0.0, slot.p90 - slot.grams_per_kwh)
    return slot.grams_per_kwh


def plan(forecast: Forecast, work: Work, now: float, settings: PlannerSettings = PlannerSettings()) -> Plan:
    """When `work` should run, seen from `now`."""
    earliest = max(now, work.earliest)
    latest = max(earliest, work.latest_start)
    steps = Steps(forecast, now, latest + work.remaining_seconds + HOUR, settings.risk)
    at_once = steps.mean(earliest, earliest + work.remaining_seconds)
    if now >= work.latest_start - EPSILON:
        return Plan(True, now, at_once, at_once, None, work.latest_start, forced=True,
                    reason="its deadline leaves no room to wait: runs now")
    if work.checkpoints:
        return _greenest_hours(steps, work, now, latest, at_once, settings)
    start, mean = _greenest_window(steps, work.remaining_seconds, earliest, latest)
    if start <= earliest + EPSILON or at_once <= mean * (1 + settings.min_gain):
        return Plan(earliest <= now + EPSILON, earliest, at_once, at_once, None, work.latest_start,
                    reason=f"no greener window before {clock(work.deadline)}: runs at once")
    return Plan(False, start, mean, at_once, None, work.latest_start,
                reason=f"the greenest window before {clock(work.deadline)} starts at {clock(start)}")


def _greenest_window(steps: Steps, work: float, earliest: float, latest: float) -> tuple[float, float]:
    """The start in [earliest, latest] of the greenest `work`-long window, and its mean. The mean
    is piecewise linear in the start, so the best start is an end of the range or a moment where
    the window's start or end meets a step; ties go to the earliest."""
    candidates = {earliest, latest}
    first = bisect.bisect_right(steps.starts, earliest)
    for boundary in steps.starts[max(0, first - 1):bisect.bisect_right(steps.starts, latest + work) + 1]:
        for start in (boundary, boundary - work):
            if earliest <= start <= latest:
                candidates.add(start)
    best = min(sorted(candidates), key=lambda s: steps.integral(s + work) - steps.integral(s) - EPSILON * (s == earliest))
    return best, steps.mean(best, best + work)


def _greenest_hours(steps: Steps, work: Work, now: float, latest: float, at_once: float,
                    settings: PlannerSettings) -> Plan:
    """The cheapest slots that hold the work, each run after a pause paying `interruption_share`
    of what the plan can save at all (a dynamic programme over slots anchored at now). Only its
    first slot is acted on."""
    slot = slot_seconds(steps)
    deadline = latest + work.remaining_seconds
    count = max(1, math.floor((deadline - now) / slot + EPSILON))
    units = min(count, max(1, math.ceil(work.remaining_seconds / slot - EPSILON)))
    costs = np.array([steps.mean(now + i * slot, now + (i + 1) * slot) for i in range(count)])
    possible = float(costs[:units].sum() - np.sort(costs)[:units].sum())
    penalty = settings.interruption_share * possible
    running = _schedule(costs, units, penalty, work.running)
    segments = _segments(running, now, slot)
    expected = float(costs[running].mean())
    first = segments[0][0]
    if not running[0] and at_once <= expected * (1 + settings.min_gain):
        return Plan(True, now, at_once, at_once, None, work.latest_start,
                    reason=f"its greenest hours before {clock(deadline)} are not greener enough than now: runs at once")
    if running[0]:
        until = segments[0][1] if len(segments) > 1 else None
        reason = (f"runs in its greenest hours before {clock(deadline)}"
                  + (f": pauses at {clock(until)}, {len(segments) - 1} more run(s) planned" if until else ""))
        return Plan(True, now, expected, at_once, until, work.latest_start, reason=reason)
    return Plan(False, first, expected, at_once, None, work.latest_start,
                reason=f"its greenest hours before {clock(deadline)} start at {clock(first)}"
                       + (f" ({len(segments)} runs)" if len(segments) > 1 else ""))


def slot_seconds(steps: Steps) -> float:
    """The forecast's resolution (its most common step), at least 15 minutes."""
    steps_seen = np.diff(np.array(steps.starts[: min(len(steps.starts), 50)] or [0.0]))
    positive = steps_seen[steps_seen > 0]
    return max(900.0, float(np.median(positive))) if len(positive) else HOUR


def _schedule(costs: np.ndarray, units: int, penalty: float, running: bool) -> np.ndarray:
    """Which slots run: `units` of them, minimising their cost plus `penalty` per run that starts
    after a pause (or at first, when not running now)."""
    n = len(costs)
    infinite = math.inf
    run = np.full(units + 1, infinite)
    idle = np.full(units + 1, infinite)
    idle[0] = 0.0
    if running:
        run[0] = 0.0
    came_from_run = np.zeros((n, units + 1), dtype=bool)  # a running slot continued a run
    idle_from_run = np.zeros((n, units + 1), dtype=bool)  # an idle slot followed a running one
    for i in range(n):
        started = idle[:-1] + penalty
        continued = run[:-1]
        new_run = np.full(units + 1, infinite)
        came_from_run[i, 1:] = continued <= started
        new_run[1:] = np.minimum(continued, started) + costs[i]
        idle_from_run[i] = run < idle
        new_idle = np.minimum(run, idle)
        run, idle = new_run, new_idle
    chosen = np.zeros(n, dtype=bool)
    state_running = run[units] < idle[units]
    w = units
    for i in range(n - 1, -1, -1):
        if state_running:
            chosen[i] = True
            state_running = bool(came_from_run[i, w])
            w -= 1
        else:
            state_running = bool(idle_from_run[i, w])
    return chosen


def _segments(running: np.ndarray, now: float, slot: float) -> list[tuple[float, float]]:
    segments: list[tuple[float, float]] = []
    for i, on in enumerate(running):
        if not on:
            continue
        begin, end = now + i * slot, now + (i + 1) * slot
        if segments and abs(segments[-1][1] - begin) < EPSILON:
            segments[-1] = (segments[-1][0], end)
        else:
            segments.append((begin, end))
    return segments


def forecast_from_points(zone: str, source: str, points: Sequence[tuple[float, float, float, float | None]]) -> Forecast:
    """A Forecast from (start, seconds, P50, P90 or None) rows, sorted, overlaps dropped."""
    slots: list[Slot] = []
    for start, seconds, p50, p90 in sorted(points):
        if seconds <= 0 or not math.isfinite(p50) or (slots and start < slots[-1].end):
            continue
        slots.append(Slot(start, start + seconds, p50, p90))
    return Forecast(zone, source, tuple(slots))


def clock(epoch: float) -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
