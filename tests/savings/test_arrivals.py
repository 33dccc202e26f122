"""When the benchmark's jobs arrive (workloads.arrivals), over a year: the batch jobs' CronJobs
together start at every hour of every weekday, each cell at many hours and on every weekday, and
no CronJob has two runs closer than the longest max-delay plus the longest job (the simulator
asserts that no CronJob has two runs missed at once); the other jobs, every 73 h, walk through
every hour and weekday too. Only the span of the trace matters to arrivals: the grid here is a
year between two points, no intensity is read."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest

from benchmarks.savings.grid import HOUR, Grid
from benchmarks.savings.run import HOURS, SLACKS, job_specs
from benchmarks.savings.workloads import ARRIVAL_SPACING_HOURS, JobSpec, arrivals
from gridshift.actions import schedule
from gridshift.exporters.grid.traces import Trace, parse_timestamp

EVERY_SLOT = {(hour, weekday) for hour in range(24) for weekday in range(7)}


def year(first_day: str) -> Grid:
    start = parse_timestamp(first_day)
    end = parse_timestamp(f"{int(first_day[:4]) + 1}{first_day[4:]}")
    trace = Trace(path="year", source_format="synthetic", zone=None, resolution_seconds=3600,
                  points=((start, 100.0), (end - 3600, 100.0)))
    grid = Grid("X", trace)
    assert grid.end == end
    return grid


def slot(moment: float) -> tuple[int, int]:
    """(hour of the day, weekday: Monday 0) in UTC."""
    when = datetime.fromtimestamp(moment, timezone.utc)
    return when.hour, when.weekday()


YEARS = ["2020-01-01", "2022-01-01", "2021-10-01"]  # a leap year (CarbonCast's first); DE 2022; SE's year


@pytest.mark.parametrize("first_day", YEARS)
def test_batch_starts_cover_every_hour_of_every_weekday(first_day):
    grid = year(first_day)
    batch = [spec for spec in job_specs() if spec.scheduled]
    assert len(batch) == len(HOURS) * len(SLACKS) == 25
    together = {slot(moment) for spec in batch for moment, _ in arrivals(grid, spec)}
    assert together == EVERY_SLOT
    # and so do the cells that opt in (slack above 0), the ones the job figures report
    assert {slot(moment) for spec in batch if spec.slack_hours > 0 for moment, _ in arrivals(grid, spec)} == EVERY_SLOT


@pytest.mark.parametrize("first_day", YEARS)
def test_each_batch_cell_starts_at_many_hours_on_every_weekday(first_day):
    grid = year(first_day)
    for spec in (spec for spec in job_specs() if spec.scheduled):
        found = arrivals(grid, spec)
        hours = Counter(slot(moment)[0] for moment, _ in found)
        weekdays = Counter(slot(moment)[1] for moment, _ in found)
        assert len(hours) == 6 and max(b - a for a, b in zip(sorted(hours), sorted(hours)[1:])) == 4, spec.key
        assert len(weekdays) == 7, spec.key
        assert min(weekdays.values()) >= 30, (spec.key, weekdays)  # every weekday about as often (~43)
        assert 290 <= len(found) <= 312, (spec.key, len(found))  # about 310 a year, as before
        assert len({cronjob for _, cronjob in found}) == len(spec.schedules) == 6


@pytest.mark.parametrize("first_day", YEARS)
def test_no_cronjob_has_two_runs_within_max_delay_plus_a_job(first_day):
    grid = year(first_day)
    longest = (max(SLACKS) + max(HOURS)) * HOUR
    for spec in (spec for spec in job_specs() if spec.scheduled):
        runs: dict[str, list[float]] = {}
        for moment, cronjob in arrivals(grid, spec):
            runs.setdefault(cronjob, []).append(moment)
        for cronjob, moments in runs.items():
            gaps = Counter(b - a for a, b in zip(moments, moments[1:]))
            assert min(gaps) >= longest, (spec.key, cronjob, min(gaps) / HOUR)
            assert gaps.most_common(1)[0][0] == 6 * 24 * HOUR  # six days within a month


def test_gridshift_reads_every_schedule_as_the_simulator_does():
    # gridshift holds a CronJob from shortly before its next run (jobs.hold_from), so it must read the
    # schedule (else it holds the CronJob at once) and find the runs the simulator starts
    grid = year("2022-01-01")
    for spec in (spec for spec in job_specs() if spec.scheduled):
        for moment, cronjob in arrivals(grid, spec)[:40]:
            assert schedule.next_run({"spec": {"schedule": spec.schedules[cronjob]}}, after=moment - 60) == moment


@pytest.mark.parametrize("first_day", YEARS)
def test_unscheduled_arrivals_walk_through_every_hour_and_weekday(first_day):
    grid = year(first_day)
    assert ARRIVAL_SPACING_HOURS % 24 == 1 and ARRIVAL_SPACING_HOURS % 168 == 73  # one hour later, three days on
    for spec in (JobSpec("training", 48.0, 48.0), JobSpec("restart", 1.0, 0.0)):
        found = [moment for moment, cronjob in arrivals(grid, spec) if cronjob is None]
        assert len(found) == len(arrivals(grid, spec)) >= 115
        slots = [slot(moment) for moment in found]
        assert {hour for hour, _ in slots} == set(range(24))
        assert {weekday for _, weekday in slots} == set(range(7))
        assert len(set(slots)) == len(slots)  # no hour of the week twice in a year (all 168 take 168 arrivals)
        assert Counter(weekday for _, weekday in slots).most_common()[-1][1] >= 15
