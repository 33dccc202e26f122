"""The planner (actions/planner.py) on real intensity: a month of Electricity Maps' hourly DE 2022
and a month of Let's Wait Awhile's 15-minute DE 2020 (data/intensity), checked against brute force."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from gridshift.actions import planner
from gridshift.actions.planner import Forecast, PlannerSettings, Slot, Work, plan
from gridshift.exporters.grid.traces import load_trace

DATA = Path(__file__).resolve().parents[2] / "data" / "intensity"
HOUR = 3600.0


def forecast_of(name: str, first: int = 0, count: int | None = None) -> Forecast:
    trace = load_trace(DATA / name)
    points = list(zip(trace.points, trace.seconds))[first:None if count is None else first + count]
    return Forecast("DE", "replay", tuple(Slot(start, start + length, value) for (start, value), length in points))


@pytest.fixture(scope="module")
def hourly() -> Forecast:
    return forecast_of("emaps_hourly_DE_2022-06-01_2022-06-30.csv")


def brute_force_start(forecast: Forecast, earliest: float, latest: float, work: float, step: float) -> float:
    """The greenest start on a fine grid of candidate starts."""
    steps = planner.Steps(forecast, earliest, latest + work + HOUR, 0.0)
    starts = [earliest + i * step for i in range(int((latest - earliest) / step) + 1)] + [latest]
    return min(steps.integral(s + work) - steps.integral(s) for s in starts)


@pytest.mark.parametrize("hours,slack", [(1, 6), (1, 24), (4, 12), (4, 48), (12, 24), (24, 48)])
@pytest.mark.parametrize("day", [0, 3, 9, 17])
def test_a_job_that_cannot_be_interrupted_starts_at_the_greenest_window(hourly: Forecast, hours: int, slack: int,
                                                                         day: int) -> None:
    now = hourly.slots[0].start + day * 24 * HOUR + 7 * 60  # 7 minutes past an hour: windows need not be aligned
    work = Work(remaining_seconds=hours * HOUR, earliest=now, latest_start=now + slack * HOUR)
    chosen = plan(hourly, work, now)
    steps = planner.Steps(hourly, now, work.deadline + HOUR, 0.0)
    planned = steps.integral(chosen.release_at + work.remaining_seconds) - steps.integral(chosen.release_at)
    best = brute_force_start(hourly, now, work.latest_start, work.remaining_seconds, step=60.0)
    assert planned <= best + 1e-6  # at least as green as the best start to the minute
    assert now <= chosen.release_at <= work.latest_start
    assert chosen.run_now == (chosen.release_at == now)
    assert chosen.expected_grams_per_kwh == pytest.approx(planned / work.remaining_seconds)


def test_the_plan_runs_at_once_when_now_is_greenest(hourly: Forecast) -> None:
    values = [slot.grams_per_kwh for slot in hourly.slots[:30]]
    trough = next(i for i in range(24) if values[i] < min(values[i + 1:i + 3]))
    now = hourly.slots[trough].start
    chosen = plan(hourly, Work(HOUR, now, now + 2 * HOUR), now)
    assert chosen.run_now and "runs at once" in chosen.reason and not chosen.forced


def test_whatever_the_forecast_says_work_runs_by_its_latest_start(hourly: Forecast) -> None:
    now = hourly.slots[0].start
    late = Work(HOUR, now, now)  # no slack left
    assert plan(hourly, late, now).run_now
    assert plan(hourly, late, now).forced
    past = Work(HOUR, now - 10 * HOUR, now - 5 * HOUR)  # its deadline passed
    decided = plan(hourly, past, now)
    assert decided.run_now and decided.forced and "no room" in decided.reason
    checkpointing = Work(4 * HOUR, now, now, checkpoints=True, running=True)
    assert plan(hourly, checkpointing, now).run_now and plan(hourly, checkpointing, now).until is None


def test_a_forecast_shorter_than_the_window_is_extended_by_its_last_day(hourly: Forecast) -> None:
    short = Forecast("DE", "replay", hourly.slots[:30])  # 30 h, for a window of 72 h
    now = short.slots[0].start
    chosen = plan(short, Work(2 * HOUR, now, now + 70 * HOUR), now)
    assert now <= chosen.release_at <= now + 70 * HOUR
    steps = planner.Steps(short, now, now + 80 * HOUR, 0.0)
    for hour in range(30, 78):  # beyond the forecast: the value a day (or two) before
        moment = now + hour * HOUR + 1
        assert steps.value(moment) == steps.value(moment - 24 * HOUR)


def _brute_force_hours(costs: list[float], units: int, penalty: float, running: bool) -> float:
    best = math.inf
    for chosen in itertools.combinations(range(len(costs)), units):
        runs = sum(1 for i in chosen if i - 1 not in chosen and not (i == 0 and running))
        best = min(best, sum(costs[i] for i in chosen) + penalty * runs)
    return best


@pytest.mark.parametrize("first", [0, 50, 130, 301])
@pytest.mark.parametrize("units,penalty,running", [(1, 0.0, False), (3, 0.0, True), (3, 150.0, False),
                                                   (4, 400.0, True), (5, 80.0, False)])
def test_the_greenest_hours_with_a_cost_per_interruption_are_optimal(first: int, units: int, penalty: float,
                                                                     running: bool) -> None:
    """The dynamic programme against every choice of hours, on 11 real hours."""
    forecast = forecast_of("emaps_hourly_DE_2022-06-01_2022-06-30.csv", first, 11)
    import numpy as np
    costs = [slot.grams_per_kwh for slot in forecast.slots]
    chosen = planner._schedule(np.array(costs), units, penalty, running)
    assert chosen.sum() == units
    runs = sum(1 for i, on in enumerate(chosen) if on and not (chosen[i - 1] if i else running))
    assert sum(c for c, on in zip(costs, chosen) if on) + penalty * runs == pytest.approx(
        _brute_force_hours(costs, units, penalty, running))


def test_a_checkpointing_job_pauses_for_greener_hours_only_when_it_pays(hourly: Forecast) -> None:
    now = hourly.slots[0].start
    work = Work(6 * HOUR, now, now + 30 * HOUR, checkpoints=True, running=True)
    eager = plan(hourly, work, now, PlannerSettings(interruption_share=0.0))
    steady = plan(hourly, work, now, PlannerSettings(interruption_share=1000.0))
    assert eager.expected_grams_per_kwh <= steady.expected_grams_per_kwh + 1e-9
    assert steady.until is None  # too costly to pause: one run, now or later
    assert steady.run_now or steady.release_at <= work.latest_start


@pytest.mark.parametrize("scale, offset", [(1.0, 300.0), (0.1, 300.0), (0.5, 1000.0)])
def test_when_a_checkpointing_job_pauses_does_not_hang_on_the_grid_s_level(scale: float, offset: float) -> None:
    """A pause is priced as a share of what the plan can save, so the same shape of day on a
    flatter or cleaner grid (SE's 30 g/kWh against DE's 400) is planned the same way. (A price in
    hours of the run at the mean intensity never paused on the flatter grid: SE reached 85 % of
    the oracle's saving with a perfect forecast, docs/benchmarks.md.)"""
    day = forecast_of("emaps_hourly_DE_2022-06-01_2022-06-30.csv", 35, 40)  # a day it pauses on
    now = day.slots[0].start
    work = Work(6 * HOUR, now, now + 24 * HOUR, checkpoints=True, running=True)
    shifted = Forecast(day.zone, day.source, tuple(Slot(s.start, s.end, offset + scale * s.grams_per_kwh) for s in day.slots))
    original, moved = plan(day, work, now), plan(shifted, work, now)
    assert original.run_now and original.until == now + 3 * HOUR  # runs 3 h, pauses for greener hours
    assert (moved.run_now, moved.release_at, moved.until) == (original.run_now, original.release_at, original.until)


def test_a_fifteen_minute_trace_is_planned_at_its_resolution() -> None:
    forecast = forecast_of("lwa_ci_DE_2020-12-01_2020-12-31_15min.csv", 0, 4 * 72)
    now = forecast.slots[0].start
    chosen = plan(forecast, Work(HOUR, now, now + 24 * HOUR), now)
    best = brute_force_start(forecast, now, now + 24 * HOUR, HOUR, step=15 * 60.0)
    steps = planner.Steps(forecast, now, now + 26 * HOUR, 0.0)
    assert steps.integral(chosen.release_at + HOUR) - steps.integral(chosen.release_at) == pytest.approx(best)


def test_risk_weighs_the_p90_of_future_hours() -> None:
    now = 0.0
    slots = (Slot(0, HOUR, 300.0), Slot(HOUR, 2 * HOUR, 200.0, p90=420.0), Slot(2 * HOUR, 3 * HOUR, 250.0, p90=260.0))
    forecast = Forecast("DE", "forecaster", slots)
    work = Work(HOUR, now, 2 * HOUR)
    assert plan(forecast, work, now).release_at == HOUR  # on P50 alone, the hour at 200
    assert plan(forecast, work, now, PlannerSettings(risk=0.5)).release_at == 2 * HOUR  # 200 + 110 > 250 + 5


def test_forecast_rows_are_sorted_and_cleaned() -> None:
    found = planner.forecast_from_points("DE", "forecaster", [(7200, 3600, 210.0, None), (0, 3600, 300.0, 330.0),
                                                              (3600, 0, 1.0, None), (1800, 3600, 5.0, None),
                                                              (3600, 3600, float("nan"), None)])
    assert [(s.start, s.grams_per_kwh) for s in found.slots] == [(0, 300.0), (7200, 210.0)]
