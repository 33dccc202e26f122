"""Elastic work (issue 18): jobs whose width can change while they run, measured as CarbonScaler
measures them (Hanafy et al., 2023), on the action service's own schedule (actions/elastic.py).

A job is `hours` of work at one replica, due `slack_hours` after it would have finished at one
replica from its arrival. It may run 0 to MAX_REPLICAS wide; each replica draws 1 kW and adds
the capacity PROFILE gives it (sub-linear: every added replica adds 5 % less than the one before,
as data-parallel training and contended workers do). Policies:

- elastic-agnostic: one replica from arrival to the end (CarbonScaler's carbon-agnostic `fixed`).
- elastic-suspend-resume: one replica, in its greenest slots (true trace).
- elastic-best-static: a fixed width, in its greenest slots (true trace), the best width for each
  job length and slack in hindsight (CarbonScaler's static scale).
- gridshift-elastic-perfect / gridshift-elastic-forecast: the action service itself (`served`:
  the Reconciler, policy and Executor as deployed, `gridshift.io/action: elastic` on a Job), on the
  trace itself and on gridshift's forecaster walk-forward (forecasts.py).
- elastic-oracle: the greedy schedule on the true trace at arrival, its cost counted as planned
  (the last replica-slot in part): the least carbon any width schedule can reach for a profile
  whose marginal capacity does not rise (tests/actions/test_elastic.py checks it by exhaustion).

Baselines with a suspend-resume or static width know the true trace, as the oracle does; only the
gridshift-elastic policies plan on a forecast they are given.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gridshift import names
from gridshift.actions import kinds
from gridshift.actions.elastic import Scaling, greedy

from benchmarks.savings.forecasts import Source
from benchmarks.savings.grid import DAY, HOUR, Grid
from benchmarks.savings.workloads import ARRIVAL_SPACING_HOURS, Run

MAX_REPLICAS = 8
PROFILE = Scaling(tuple(1.0 - 0.05 * k for k in range(MAX_REPLICAS)))
HOURS = (4.0, 12.0, 24.0)
SLACKS = (6.0, 12.0, 24.0, 48.0)
BASELINES = ("elastic-agnostic", "elastic-suspend-resume", "elastic-best-static", "elastic-oracle")
PLANNED = ("gridshift-elastic-perfect", "gridshift-elastic-forecast")
POLICIES = (*BASELINES, *PLANNED)
PUBLISHED = ("gridshift-elastic-carboncast",)  # on CarbonCast's published forecasts (benchmarks/savings/published.py)


@dataclass(frozen=True)
class ElasticSpec:
    hours: float  # work, in hours of one replica
    slack_hours: float

    @property
    def key(self) -> str:
        return f"elastic-{self.hours:g}h-slack-{self.slack_hours:g}h"


@dataclass
class ElasticRun(Run):
    spec: ElasticSpec


def specs() -> list[ElasticSpec]:
    return [ElasticSpec(h, s) for h in HOURS for s in SLACKS]


def arrivals(grid: Grid, spec: ElasticSpec) -> Iterator[float]:
    """Every ARRIVAL_SPACING_HOURS (every hour of the day and weekday in turn), after a first day
    and early enough that the job's window lies inside the trace."""
    moment, latest = grid.start + DAY, grid.end - (spec.hours + spec.slack_hours) * HOUR - DAY
    while moment <= latest:
        yield moment
        moment += ARRIVAL_SPACING_HOURS * HOUR


def slot_of(grid: Grid) -> float:
    return max(900.0, float(grid.trace.resolution_seconds or HOUR))


def _costs(grid: Grid, begin: float, count: int, slot: float) -> list[float]:
    return [grid.grams(begin + i * slot, begin + (i + 1) * slot) * HOUR / slot for i in range(count)]


def _slots(spec: ElasticSpec, slot: float) -> int:
    return max(1, math.floor((spec.hours + spec.slack_hours) * HOUR / slot + 1e-6))


def agnostic(grid: Grid, spec: ElasticSpec, arrival: float) -> ElasticRun:
    end = arrival + spec.hours * HOUR
    return ElasticRun(spec, arrival, grams=grid.grams(arrival, end), kwh=spec.hours, finished=end)


def fixed_width(grid: Grid, spec: ElasticSpec, arrival: float, width: int) -> ElasticRun:
    """`width` replicas in the job's greenest slots, paused in the others (true trace)."""
    slot = slot_of(grid)
    costs = _costs(grid, arrival, _slots(spec, slot), slot)
    one = Scaling((PROFILE.throughput(width),))
    on, _, _ = greedy([c * width for c in costs], spec.hours * HOUR / slot, one, 0, 1)
    return _executed(grid, spec, arrival, slot, [width * w for w in on])


def oracle(grid: Grid, spec: ElasticSpec, arrival: float) -> ElasticRun:
    """The greedy schedule's own cost on the true trace: the least carbon reachable."""
    slot = slot_of(grid)
    costs = _costs(grid, arrival, _slots(spec, slot), slot)
    widths, used, _ = greedy(costs, spec.hours * HOUR / slot, PROFILE, 0, MAX_REPLICAS)
    run = ElasticRun(spec, arrival, actions=_changes(widths))
    run.grams = sum(c * u for c, u in zip(costs, used)) * slot / HOUR
    run.kwh = sum(used) * slot / HOUR
    last = max((i for i, u in enumerate(used) if u > 0), default=0)
    run.finished = arrival + (last + 1) * slot
    return run


def served(grid: Grid, spec: ElasticSpec, source: Source) -> list[ElasticRun]:
    """Every arrival as the action service runs it: a Job of `hours` at one replica (parallelism 1,
    no completions: the service counts the work its widths deliver) in a namespace that opts in to
    `elastic` with the spec's slack as max-delay, against the in-memory API, the Reconciler,
    policy and Executor exactly as deployed. The simulator is the Job controller and the meter: the
    Job does PROFILE's work at its width, and is marked Complete when the work is done. A pass runs
    at each arrival, when the last pass's schedule changes width (the service's wake-up), when the
    forecast is issued anew, and at completion."""
    from benchmarks.savings.cluster import _reconciler  # the service as the other simulations build it
    from benchmarks.savings.memkube import MemoryKube

    now = [float(grid.start)]
    kube = MemoryKube()
    reconciler = _reconciler(kube, clock=lambda: now[0], forecasts=source)
    kube.add_namespace(spec.key, {
        names.ANNOTATION_ZONE: grid.zone, names.ANNOTATION_ACTION: "elastic",
        names.ANNOTATION_MAX_DELAY: f"{spec.slack_hours:g}h", names.ANNOTATION_DURATION: f"{spec.hours:g}h",
        names.ANNOTATION_MIN_REPLICAS: "0", names.ANNOTATION_MAX_REPLICAS: str(MAX_REPLICAS),
        names.ANNOTATION_SCALING: ",".join(f"{m:g}" for m in PROFILE.marginal)})
    issues = sorted(source.changes())
    runs = []
    for number, arrival in enumerate(arrivals(grid, spec)):
        now[0] = arrival
        name = f"job-{number}"
        kube.add(kinds.JOB, {"apiVersion": "batch/v1", "kind": "Job",
                             "metadata": {"name": name, "namespace": spec.key, "creationTimestamp": arrival},
                             "spec": {"parallelism": 1, "template": {"spec": {}}},
                             "status": {"active": 1, "startTime": arrival}})
        runs.append(_serve(grid, spec, kube, reconciler, now, name, issues))
        kube.remove(kinds.JOB, spec.key, name)
    return runs


def _serve(grid: Grid, spec: ElasticSpec, kube: Any, reconciler: Any, now: list[float], name: str,
           issues: list[float]) -> ElasticRun:
    run = ElasticRun(spec, now[0])
    left, width_before = spec.hours, 1
    while True:
        wake = reconciler.run_pass(sync_alertmanager=False).wake_at
        job = kube.get(kinds.JOB, spec.key, name)
        if left <= 1e-9:
            return run
        width = int(job["spec"].get("parallelism") or 0)
        run.actions += width != width_before
        width_before = width
        following = bisect.bisect_right(issues, now[0])
        moments = [m for m in (wake, issues[following] if following < len(issues) else None,
                               max(now[0] + 60.0, run.deadline)) if m is not None and m > now[0]]
        until = min(moments)
        if width > 0:
            left = _run_slot(grid, run, now[0], until - now[0], width, left)
            assert run.finished is not None
            until = run.finished  # earlier, when the work ends before the next pass
        now[0] = until
        if left <= 1e-9:
            job["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
            kube.update(kinds.JOB, spec.key, name, job)


def _run_slot(grid: Grid, run: ElasticRun, moment: float, slot: float, width: int, left: float) -> float:
    """Run `width` replicas for `slot` seconds (less, if the work ends inside them); the work left after."""
    if width == 0:
        return left
    rate = PROFILE.throughput(width) / HOUR  # work-hours per second
    seconds = min(slot, left / rate)
    run.grams += width * grid.grams(moment, moment + seconds)
    run.kwh += width * seconds / HOUR
    run.finished = moment + seconds
    return left - rate * seconds


def _executed(grid: Grid, spec: ElasticSpec, arrival: float, slot: float, widths: Sequence[int]) -> ElasticRun:
    run = ElasticRun(spec, arrival, actions=_changes(widths))
    left = spec.hours
    for i, width in enumerate(widths):
        if left <= 1e-9:
            break
        left = _run_slot(grid, run, arrival + i * slot, slot, width, left)
    if left > 1e-9:
        run.finished = None
    return run


def _changes(widths: Sequence[int]) -> int:
    before, changes = 1, 0
    for width in widths:
        changes += width != before
        before = width
    return changes


def runs(grid: Grid, spec: ElasticSpec, policy: str, source: Source | None = None) -> list[ElasticRun]:
    """Every arrival of `spec` as `policy` runs it."""
    moments = list(arrivals(grid, spec))
    if policy == "elastic-agnostic":
        return [agnostic(grid, spec, a) for a in moments]
    if policy == "elastic-suspend-resume":
        return [fixed_width(grid, spec, a, 1) for a in moments]
    if policy == "elastic-best-static":
        by_width = [[fixed_width(grid, spec, a, w) for a in moments] for w in range(1, MAX_REPLICAS + 1)]
        return min(by_width, key=lambda found: sum(r.grams for r in found))
    if policy == "elastic-oracle":
        return [oracle(grid, spec, a) for a in moments]
    if source is None:
        raise ValueError(f"{policy} plans on a forecast: give its source")
    return served(grid, spec, source)
