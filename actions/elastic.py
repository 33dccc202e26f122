"""How wide elastic work runs, slot by slot: CarbonScaler's greedy schedule (Hanafy et al., 2023).

Elastic work (a Job whose `parallelism` can change while it runs, a worker Deployment that must
deliver so many replica-hours) is a quantity of work, in hours of one replica, due by a
deadline. Its scaling profile says how much each added replica adds (the marginal capacity:
1, 1, 1... for linear scaling; falling for work whose replicas contend). Each slot runs at
least `min_replicas`; every further unit of work goes to the slot and width where it costs the
least carbon per unit of work (the slot's intensity over the marginal capacity of the replica
added there), until the work is covered. For a profile whose marginal capacity does not rise
(concave throughput) this is optimal; the last replica-slot chosen may be used in part (the
work ends inside it). Pure: no clock, no I/O; re-planned at every pass from the work left.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

from gridshift.actions.planner import EPSILON, HOUR, Forecast, Steps, clock, slot_seconds


class ScalingError(ValueError):
    """A scaling profile that cannot be used, with what is wrong with it."""


@dataclass(frozen=True)
class Scaling:
    """The capacity each added replica adds, in units of one replica's throughput."""

    marginal: tuple[float, ...]

    @classmethod
    def linear(cls, replicas: int) -> Scaling:
        return cls((1.0,) * replicas)

    @classmethod
    def parse(cls, text: str | None, max_replicas: int) -> Scaling:
        """`linear` (or absent), or the marginal capacity of each added replica, comma separated
        (`1,0.9,0.8`), one per replica up to `max_replicas`, none above the one before."""
        if text is None or text.strip().lower() in ("", "linear"):
            return cls.linear(max_replicas)
        try:
            values = tuple(float(part) for part in text.split(","))
        except ValueError:
            raise ScalingError(f"scaling {text!r} is neither 'linear' nor a comma-separated list of numbers") from None
        if len(values) < max_replicas:
            raise ScalingError(f"scaling {text!r} gives {len(values)} marginal capacities, "
                               f"max-replicas is {max_replicas}: give one per replica")
        if any(not math.isfinite(v) or v <= 0 for v in values):
            raise ScalingError(f"scaling {text!r}: every marginal capacity must be a positive number")
        if any(later > earlier + EPSILON for earlier, later in zip(values, values[1:])):
            raise ScalingError(f"scaling {text!r}: a replica cannot add more than the one before it "
                               "(a rising marginal capacity has no greedy optimum)")
        return cls(values[:max_replicas])

    def throughput(self, replicas: int) -> float:
        return float(sum(self.marginal[:replicas]))


@dataclass(frozen=True)
class ElasticWork:
    remaining_hours: float  # work left, in hours of one replica at full capacity
    min_replicas: int
    max_replicas: int
    deadline: float
    scaling: Scaling


@dataclass(frozen=True)
class ElasticPlan:
    slot_seconds: float
    widths: tuple[int, ...]  # replicas in each slot from now, up to the deadline
    expected_grams_per_kwh: float  # mean forecast over the replica-hours planned
    feasible: bool  # the work fits before the deadline at max-replicas
    reason: str

    @property
    def width_now(self) -> int:
        return self.widths[0] if self.widths else 0

    def next_change(self, now: float) -> float | None:
        """When the width next differs from now's: the moment to act again."""
        for i, width in enumerate(self.widths[1:], start=1):
            if width != self.width_now:
                return now + i * self.slot_seconds
        return None


def schedule(forecast: Forecast, work: ElasticWork, now: float, *, slot: float | None = None) -> ElasticPlan:
    """The greedy schedule of `work` from `now` to its deadline on `forecast`'s P50."""
    if work.max_replicas < max(1, work.min_replicas):
        raise ScalingError(f"max-replicas {work.max_replicas} is below min-replicas {work.min_replicas} (or 1)")
    steps = Steps(forecast, now, max(work.deadline, now + HOUR) + HOUR, risk=0.0)
    slot = slot or slot_seconds(steps)
    count = max(1, math.floor((work.deadline - now) / slot + EPSILON))
    costs = [steps.mean(now + i * slot, now + (i + 1) * slot) for i in range(count)]
    widths, used, feasible = greedy(costs, work.remaining_hours * HOUR / slot, work.scaling,
                                    work.min_replicas, work.max_replicas)
    expected = sum(c * u for c, u in zip(costs, used)) / sum(used) if sum(used) > 0 else costs[0]
    deadline = clock(work.deadline)
    if not feasible:
        reason = f"cannot finish by {deadline} even at {work.max_replicas} replicas: runs at the most"
    elif widths[0] > work.min_replicas:
        reason = f"runs {widths[0]} wide now: among its greenest replica-hours before {deadline}"
    else:
        greener = next((i for i, w in enumerate(widths) if w > work.min_replicas), None)
        reason = (f"holds at {widths[0]} until {clock(now + greener * slot)}, a greener stretch before {deadline}"
                  if greener is not None else f"{work.min_replicas} replicas cover the work by {deadline}")
    return ElasticPlan(slot, tuple(widths), expected, feasible, reason)


def greedy(costs: Sequence[float], work: float, scaling: Scaling, min_replicas: int,
           max_replicas: int) -> tuple[list[int], list[float], bool]:
    """Widths per slot covering `work` (in replica-slots at full capacity) at the least cost,
    with the replica-slots each slot uses (the last one chosen may be used in part) and whether
    the work fits at all. Each slot's cost is per replica."""
    widths = [min_replicas] * len(costs)
    used = [float(min_replicas)] * len(costs)
    left = work - len(costs) * scaling.throughput(min_replicas)
    candidates = [(cost / scaling.marginal[min_replicas], i) for i, cost in enumerate(costs)
                  if min_replicas < max_replicas]
    heapq.heapify(candidates)
    while left > EPSILON and candidates:
        _, i = heapq.heappop(candidates)
        added = scaling.marginal[widths[i]]
        share = min(1.0, left / added)
        widths[i] += 1
        used[i] += share
        left -= added * share
        if widths[i] < max_replicas:
            heapq.heappush(candidates, (costs[i] / scaling.marginal[widths[i]], i))
    return widths, used, left <= EPSILON
