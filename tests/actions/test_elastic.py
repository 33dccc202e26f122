"""The elastic schedule (actions/elastic.py) on real hourly intensity (Electricity Maps DE, June
2022), checked against an exhaustive search of every width per hour on small cases."""

from __future__ import annotations

import itertools

import pytest

from gridshift.actions import elastic
from gridshift.actions.elastic import ElasticWork, Scaling, ScalingError, greedy, schedule
from tests.actions.test_planner import forecast_of

HOUR = 3600.0


@pytest.fixture(scope="module")
def hourly():
    return forecast_of("emaps_hourly_DE_2022-06-01_2022-06-30.csv")


def exhaustive(costs: list[float], work: float, scaling: Scaling, low: int, high: int) -> float:
    """The least cost of covering `work` over every integer width per slot, the least efficient
    replica-slot chosen used only as far as the work needs it."""
    best = float("inf")
    for widths in itertools.product(range(low, high + 1), repeat=len(costs)):
        delivered = sum(scaling.throughput(w) for w in widths)
        if delivered < work - 1e-9:
            continue
        cost = sum(c * w for c, w in zip(costs, widths))
        # replica-slots above the floor, dearest per unit of work first: give back the overshoot
        added = sorted(((c / scaling.marginal[k], c, scaling.marginal[k]) for c, w in zip(costs, widths)
                        for k in range(low, w)), reverse=True)
        over = delivered - work
        for _ratio, c, m in added:
            if over <= 1e-12:
                break
            give = min(1.0, over / m)
            cost -= c * give
            over -= m * give
        best = min(best, cost)
    return best


PROFILES = [Scaling.linear(3), Scaling((1.0, 0.8, 0.5)), Scaling((1.0, 0.6, 0.6))]


@pytest.mark.parametrize("scaling", PROFILES, ids=["linear", "falling", "flat-tail"])
@pytest.mark.parametrize("work,low", [(2.0, 0), (3.5, 0), (5.0, 1), (6.3, 0)])
@pytest.mark.parametrize("day", [0, 11, 23])
def test_the_greedy_schedule_is_the_least_carbon_one(hourly, scaling: Scaling, work: float, low: int,
                                                     day: int) -> None:
    costs = [s.grams_per_kwh for s in hourly.slots[day * 24 + 9:day * 24 + 15]]  # six real hours
    widths, used, feasible = greedy(costs, work, scaling, low, 3)
    assert feasible and all(low <= w <= 3 for w in widths)
    planned = sum(c * u for c, u in zip(costs, used))
    assert planned == pytest.approx(exhaustive(costs, work, scaling, low, 3), rel=1e-9)


def test_work_that_cannot_fit_runs_as_wide_as_it_may(hourly) -> None:
    costs = [s.grams_per_kwh for s in hourly.slots[:4]]
    widths, _, feasible = greedy(costs, 20.0, Scaling.linear(3), 0, 3)
    assert not feasible and widths == [3, 3, 3, 3]


def test_a_plan_runs_wide_in_the_green_hours_and_meets_the_deadline(hourly) -> None:
    now = hourly.slots[0].start
    work = ElasticWork(remaining_hours=12.0, min_replicas=0, max_replicas=4, deadline=now + 24 * HOUR,
                       scaling=Scaling.linear(4))
    plan = schedule(hourly, work, now)
    assert plan.feasible and len(plan.widths) == 24 and sum(plan.widths) == 12
    values = [s.grams_per_kwh for s in hourly.slots[:24]]
    wide = [v for v, w in zip(values, plan.widths) if w == 4]
    idle = [v for v, w in zip(values, plan.widths) if w == 0]
    assert max(wide) <= min(idle)  # every hour run at full width is no dirtier than any hour left idle
    assert plan.expected_grams_per_kwh < sum(values) / len(values)
    assert plan.next_change() is None or plan.next_change() > now


def test_the_floor_runs_every_hour(hourly) -> None:
    now = hourly.slots[0].start + 600
    work = ElasticWork(remaining_hours=30.0, min_replicas=1, max_replicas=3, deadline=now + 24 * HOUR,
                       scaling=Scaling((1.0, 0.5, 0.5)))
    plan = schedule(hourly, work, now)
    assert min(plan.widths) >= 1 and max(plan.widths) <= 3
    assert "replicas" in plan.reason or "wide" in plan.reason or "holds" in plan.reason


@pytest.mark.parametrize("text,error", [
    ("fast", "neither 'linear' nor"),
    ("1,0.5", "gives 2 marginal capacities, max-replicas is 3"),
    ("1,0,1", "positive"),
    ("1,0.5,0.9", "cannot add more than the one before"),
])
def test_an_unusable_scaling_profile_says_what_is_wrong(text: str, error: str) -> None:
    with pytest.raises(ScalingError, match=error):
        Scaling.parse(text, 3)


def test_scaling_profiles_read_as_written() -> None:
    assert Scaling.parse(None, 2) == Scaling.linear(2) == Scaling.parse(" Linear ", 2)
    assert Scaling.parse("1,0.9,0.7,0.5", 3).marginal == (1.0, 0.9, 0.7)
    with pytest.raises(ScalingError, match="below min-replicas"):
        elastic.schedule(forecast_of("emaps_hourly_DE_2022-06-01_2022-06-30.csv", count=30),
                         ElasticWork(1.0, 3, 2, 0.0 + 10 * HOUR, Scaling.linear(2)), 0.0)


def test_the_work_done_survives_the_state_annotation_and_a_bad_count_is_refused() -> None:
    from gridshift.actions.state import HoldState, StateError, decode
    state = HoldState("elastic", {"/spec/replicas": 3}, {"/spec/replicas": 4}, since=1_700_000_000.0, alert="",
                      work_done=12.5, accounted_at=1_700_003_600.0)
    again = decode(state.encode())
    assert again.work_done == 12.5 and again.accounted_at == 1_700_003_600.0
    for bad in ('-1', '"ten"', 'true'):
        text = state.encode().replace('"workDone":12.5', f'"workDone":{bad}')
        with pytest.raises(StateError, match="workDone"):
            decode(text)


def test_a_pass_between_two_steps_plans_on_the_forecast_s_hours(hourly) -> None:
    """Slots follow the forecast's steps: the first from now to the next step, then hour by hour,
    so a pass at 10:20 weighs the same hours as one at 10:00 (not 10:20-11:20 blends)."""
    start = hourly.slots[0].start
    work = ElasticWork(remaining_hours=10.0, min_replicas=0, max_replicas=4, deadline=start + 24 * HOUR,
                       scaling=Scaling.linear(4))
    on_the_hour, between = schedule(hourly, work, start), schedule(hourly, work, start + 20 * 60)
    assert between.starts[0] == start + 20 * 60
    assert between.starts[1:] == on_the_hour.starts[1:] == tuple(start + h * HOUR for h in range(1, 24))


def test_a_pass_just_before_a_step_does_not_change_twice_within_fifteen_minutes(hourly) -> None:
    start = hourly.slots[0].start
    now = start + HOUR - 5 * 60
    plan = schedule(hourly, ElasticWork(8.0, 0, 4, start + 24 * HOUR, Scaling.linear(4)), now)
    assert plan.starts[1] == start + 2 * HOUR  # 10:55 to 12:00: the 11:00 step would be 5 min after a change
    change = plan.next_change()
    assert change is None or change - now >= elastic.MIN_CHANGE_SECONDS


@pytest.mark.parametrize("work,step_minutes", [(1.5, 30), (1.25, 15), (1.75, 45)])
def test_the_replica_used_in_part_steps_down_inside_the_hour(hourly, work: float, step_minutes: int) -> None:
    """The greedy schedule's last replica-slot is used in part. When that is the current hour the
    plan runs one replica more for that part only, then steps down: the work is not done early in
    a dirtier hour at the cost of a greener one."""
    now = hourly.slots[0].start
    plan = schedule(hourly, ElasticWork(work, 0, 2, now + HOUR, Scaling.linear(2)), now)
    assert plan.widths == (2,) and plan.step_down_at == now + step_minutes * 60
    assert plan.next_change() == plan.step_down_at


@pytest.mark.parametrize("work", [1.1, 1.95])
def test_a_step_closer_than_fifteen_minutes_to_either_end_is_not_made(hourly, work: float) -> None:
    now = hourly.slots[0].start
    plan = schedule(hourly, ElasticWork(work, 0, 2, now + HOUR, Scaling.linear(2)), now)
    assert plan.step_down_at is None and plan.widths == (2,)  # never narrower than the work planned for now


def test_a_step_down_falls_on_a_whole_second_never_early(hourly) -> None:
    """The state records times to the second; a step-down at a fraction of one would count work
    that was not done (a job then finished a third of a second after its deadline)."""
    now = hourly.slots[0].start
    plan = schedule(hourly, ElasticWork(1 + 1 / 3 + 1e-7, 0, 2, now + HOUR, Scaling.linear(2)), now)
    assert plan.step_down_at is not None and plan.step_down_at == int(plan.step_down_at)
    assert plan.step_down_at >= now + HOUR / 3
