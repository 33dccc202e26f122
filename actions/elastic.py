"""How wide elastic work runs, slot by slot: CarbonScaler's greedy schedule (Hanafy et al., 2023).

Elastic work (a Job whose `parallelism` can change while it runs, a worker Deployment that must
deliver so many replica-hours) is a quantity of work, in hours of one replica, due by a
deadline. Its scaling profile says how much each added replica adds (the marginal capacity:
1, 1, 1... for linear scaling; falling for work whose replicas contend). Each slot runs at
least `min_replicas`; every further unit of work goes to the slot and width where it costs the
least carbon per unit of work (the slot's intensity over the marginal capacity of the replica
added there), until the work is covered. For a profile whose marginal capacity does not rise
(concave throughput) this is optimal; the last replica-slot chosen may be used in part (the
work ends inside it). Slots follow the forecast's steps (the first runs from now to the next
step), so a pass made between two steps plans on the same hours as one made on a step; when
the part-used replica-slot is the current one, the plan steps down by one replica inside it, at
the moment that replica's share of the work is done. No change is planned less than
`MIN_CHANGE_SECONDS` after another. Pure: no clock, no I/O; re-planned at every pass from the
work left.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gridshift.actions.planner import EPSILON, HOUR, Forecast, Steps, clock, slot_seconds

MIN_CHANGE_SECONDS = 900.0  # issue 18: a width changes no more often than every 15 minutes


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
    starts: tuple[float, ...] = ()  # each slot's start (the first is now)
    step_down_at: float | None = None  # inside the first slot: one replica fewer from then
    wake_at: float | None = None  # a change that must wait (MIN_CHANGE_SECONDS after the last): then

    @property
    def width_now(self) -> int:
        return self.widths[0] if self.widths else 0

    def next_change(self) -> float | None:
        """When the width next differs from now's: the moment to act again."""
        if self.wake_at is not None:
            return self.wake_at
        if self.step_down_at is not None:
            return self.step_down_at
        return next((start for start, width in zip(self.starts[1:], self.widths[1:]) if width != self.width_now), None)


def schedule(forecast: Forecast, work: ElasticWork, now: float, *, slot: float | None = None) -> ElasticPlan:
    """The greedy schedule of `work` from `now` to its deadline on `forecast`'s P50."""
    if work.max_replicas < max(1, work.min_replicas):
        raise ScalingError(f"max-replicas {work.max_replicas} is below min-replicas {work.min_replicas} (or 1)")
    steps = Steps(forecast, now, max(work.deadline, now + HOUR) + HOUR, risk=0.0)
    slot = slot or slot_seconds(steps)
    bounds = slot_bounds(steps, now, work.deadline, slot)
    costs = [steps.mean(begin, end) for begin, end in zip(bounds, bounds[1:])]
    lengths = [(end - begin) / slot for begin, end in zip(bounds, bounds[1:])]
    widths, used, feasible = greedy(costs, work.remaining_hours * HOUR / slot, work.scaling,
                                    work.min_replicas, work.max_replicas, lengths)
    expected = sum(c * u for c, u in zip(costs, used)) / sum(used) if sum(used) > 0 else costs[0]
    widths[0], step_down_at = _first_slot(widths[0], used[0] / lengths[0], bounds[0], bounds[1], work.min_replicas)
    deadline = clock(work.deadline)
    if not feasible:
        reason = f"cannot finish by {deadline} even at {work.max_replicas} replicas: runs at the most"
    elif widths[0] > work.min_replicas:
        reason = f"runs {widths[0]} wide now: among its greenest replica-hours before {deadline}"
    else:
        greener = next((i for i, w in enumerate(widths) if w > work.min_replicas), None)
        reason = (f"holds at {widths[0]} until {clock(now + greener * slot)}, a greener stretch before {deadline}"
                  if greener is not None else f"{work.min_replicas} replicas cover the work by {deadline}")
    return ElasticPlan(slot, tuple(widths), expected, feasible, reason, tuple(bounds[:-1]), step_down_at)


def deferred(plan: ElasticPlan, current: int, until: float) -> ElasticPlan:
    """`plan` with the width kept at `current` until `until` (a change made less than
    MIN_CHANGE_SECONDS ago: the next waits), when the next pass plans again."""
    return replace(plan, widths=(current, *plan.widths[1:]), step_down_at=None, wake_at=until,
                   reason=f"stays {current} wide until {clock(until)}: its width changed less than "
                          f"{MIN_CHANGE_SECONDS / 60:g} minutes ago ({plan.reason})")


def slot_bounds(steps: Steps, now: float, deadline: float, slot: float) -> list[float]:
    """Now, the forecast's next step (a slot later when that is under MIN_CHANGE_SECONDS away, so
    two changes are never closer), then a slot apart up to the deadline (at least one slot)."""
    following = [start for start in steps.starts if start > now + EPSILON]
    anchor = following[0] if following and following[0] - now < slot + EPSILON else now + slot
    if anchor - now < MIN_CHANGE_SECONDS - EPSILON:
        anchor += slot
    bounds = [now, anchor]
    while bounds[-1] + slot <= deadline + EPSILON:
        bounds.append(bounds[-1] + slot)
    return bounds


def _first_slot(width: int, replicas: float, begin: float, end: float, min_replicas: int) -> tuple[int, float | None]:
    """The width now and when to step down by one inside the first slot, when its last replica is
    planned for part of it only (`replicas`: the slot's mean width planned): that part first, when
    both parts are MIN_CHANGE_SECONDS or more, else the whole width (never less: the work planned
    for now is not put off, so the deadline holds)."""
    share = replicas - (width - 1)
    if width <= min_replicas or share >= 1 - EPSILON:
        return width, None
    part = share * (end - begin)
    if part < MIN_CHANGE_SECONDS - EPSILON or end - begin - part < MIN_CHANGE_SECONDS - EPSILON:
        return width, None
    # On a whole second, rounded up: the state records times to the second, and the wider part
    # running a fraction longer never leaves work for after the deadline.
    return width, float(math.ceil(begin + part - EPSILON))


def greedy(costs: Sequence[float], work: float, scaling: Scaling, min_replicas: int,
           max_replicas: int, lengths: Sequence[float] | None = None) -> tuple[list[int], list[float], bool]:
    """Widths per slot covering `work` (in replica-slots at full capacity) at the least cost,
    with the replica-slots each slot uses (the last one chosen may be used in part) and whether
    the work fits at all. Each slot's cost is per replica; `lengths` are the slots' lengths in
    slots (1 each unless given)."""
    lengths = list(lengths) if lengths is not None else [1.0] * len(costs)
    widths = [min_replicas] * len(costs)
    used = [min_replicas * length for length in lengths]
    left = work - sum(lengths) * scaling.throughput(min_replicas)
    candidates = [(cost / scaling.marginal[min_replicas], i) for i, cost in enumerate(costs)
                  if min_replicas < max_replicas]
    heapq.heapify(candidates)
    while left > EPSILON and candidates:
        _, i = heapq.heappop(candidates)
        added = scaling.marginal[widths[i]] * lengths[i]
        share = min(1.0, left / added)
        widths[i] += 1
        used[i] += share * lengths[i]
        left -= added * share
        if widths[i] < max_replicas:
            heapq.heappush(candidates, (costs[i] / scaling.marginal[widths[i]], i))
    return widths, used, left <= EPSILON
