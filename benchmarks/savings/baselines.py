"""The policies gridshift is measured against, computed directly from the trace.

- carbon-agnostic: start at arrival, run to the end (CarbonScaler's `fixed`).
- static threshold with deferral (the ML scheduler seed's `--threshold --defer-seconds`): at
  arrival and every hour after, start if the current intensity is at or below a fixed g/kWh
  threshold; start anyway when waiting longer would miss the deadline; never interrupted.
- oracle: perfect knowledge of the trace. A job that cannot checkpoint runs in the greenest
  contiguous window that meets its deadline; one that can runs in the greenest hours of its
  window in any order (CarbonScaler's and Let's Wait Awhile's upper bound). A service gives
  up the same replica-hours as the policy it is compared with, in the dirtiest hours.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.savings.grid import HOUR, Grid
from benchmarks.savings.workloads import JobRun, JobSpec, ServiceRun

STATIC_CHECK_SECONDS = HOUR  # the seed's --defer-seconds 3600


def _contiguous(grid: Grid, spec: JobSpec, arrival: float, start: float) -> JobRun:
    end = start + spec.hours * HOUR
    return JobRun(spec, arrival, grams=grid.grams(start, end), kwh=spec.hours, finished=end)


def carbon_agnostic(grid: Grid, spec: JobSpec, arrival: float) -> JobRun:
    return _contiguous(grid, spec, arrival, arrival)


def static_threshold(grid: Grid, spec: JobSpec, arrival: float, threshold: float) -> JobRun:
    latest = arrival + spec.slack_hours * HOUR
    start = arrival
    while start < latest and grid.value(start) > threshold:
        start = min(start + STATIC_CHECK_SECONDS, latest)
    return _contiguous(grid, spec, arrival, start)


def oracle(grid: Grid, spec: JobSpec, arrival: float) -> JobRun:
    if spec.checkpoints:
        return _greenest_hours(grid, spec, arrival)
    latest = arrival + spec.slack_hours * HOUR
    work = spec.hours * HOUR
    # The emissions of a window are piecewise linear in its start: the best start is where the
    # window's start or end meets a point boundary, or an end of the allowed range.
    candidates = {arrival, latest}
    for boundary in grid.starts[grid.index(arrival):grid.index(latest + work) + 2]:
        for start in (boundary, boundary - work):
            if arrival <= start <= latest:
                candidates.add(start)
    best = min(sorted(candidates), key=lambda s: grid.grams(s, s + work))
    return _contiguous(grid, spec, arrival, best)


def _greenest_hours(grid: Grid, spec: JobSpec, arrival: float) -> JobRun:
    deadline = arrival + (spec.hours + spec.slack_hours) * HOUR
    pieces = _pieces(grid, arrival, deadline)
    remaining, grams, finished = spec.hours * HOUR, 0.0, arrival
    for value, begin, end in sorted(pieces):
        used = min(end - begin, remaining)
        grams += value * used / HOUR
        finished = max(finished, begin + used)
        remaining -= used
        if remaining <= 0:
            break
    return JobRun(spec, arrival, grams=grams, kwh=spec.hours, finished=finished)


def _pieces(grid: Grid, begin: float, end: float) -> list[tuple[float, float, float]]:
    """(intensity, from, to) of the trace's steps between two moments."""
    first, last = grid.index(begin), grid.index(end)
    bounds = [begin, *(s for s in grid.starts[first + 1:last + 1] if begin < s < end), end]
    return [(grid.value(a), a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def service_oracle(grid: Grid, run: ServiceRun) -> float:
    """The service's grams had it given up the same replica-hours as `run`, in the dirtiest steps."""
    fewer = max((r for _, _, r in run.reduced), default=0)
    budget = sum((b - a) * r for a, b, r in run.reduced)  # replica-seconds given up
    full = grid.grams(run.begin, run.end)  # the whole service draws 1 kW, each replica 1/replicas
    if fewer == 0:
        return full
    saved = 0.0
    for value, begin, end in sorted(_pieces(grid, run.begin, run.end), reverse=True):
        seconds = min(end - begin, budget / fewer)
        saved += value * seconds / HOUR * fewer / run.spec.replicas
        budget -= seconds * fewer
        if budget <= 0:
            break
    return full - saved


def total(runs: Sequence[JobRun]) -> float:
    return sum(run.grams for run in runs)
