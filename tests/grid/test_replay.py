"""ReplayProvider on the recorded real traces: the time mapping, looping, forecasts, resolution
scaling, gaps and failures. Expected values come from the files read with the csv module."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gridshift.config import ReplaySettings, ReplayZone
from gridshift.exporters.grid.providers import provider_jobs
from gridshift.exporters.grid.providers import replay as replay_module
from gridshift.exporters.grid.providers.replay import MAX_POINTS_AHEAD, MAX_POINTS_BACK, ReplayProvider
from gridshift.exporters.grid.errors import FetchError

T0 = 1_700_000_000  # the wall clock the replays start at
HOUR = 3600
LCA = "Carbon Intensity gCO\u2082eq/kWh (LCA)"
FIRST = int(datetime(2022, 6, 1, tzinfo=timezone.utc).timestamp())  # the DE trace: June 2022
HOURS = 720


def utc(text: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> int:
    return int(datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp())


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def intensity(recorded_data: Path) -> Path:
    return recorded_data / "intensity"


@pytest.fixture(scope="module")
def de_file(intensity: Path) -> str:
    return str(intensity / "emaps_hourly_DE_2022-06-01_2022-06-30.csv")


@pytest.fixture(scope="module")
def de_lca(de_file: str) -> list[float]:
    """The DE June 2022 lifecycle values, one per hour from 2022-06-01 00:00 UTC (the file has all 720)."""
    table = rows(Path(de_file))
    assert [utc(row["Datetime (UTC)"]) for row in table] == [FIRST + k * HOUR for k in range(HOURS)]
    return [float(row[LCA]) for row in table]


def provider(clock_start: float | None = T0, refresh_seconds: float = 10.0, **zones: ReplayZone) -> ReplayProvider:
    return ReplayProvider(ReplaySettings(zones=zones, refresh_seconds=refresh_seconds), clock_start=clock_start)


@pytest.mark.parametrize("k", [0, 1, 2, 17, 400, HOURS - 2, HOURS - 1])
def test_one_trace_hour_per_wall_second_reads_the_trace_at_the_mapped_time(de_file, de_lca, k):
    replay = provider(DE=ReplayZone(file=de_file, speed=3600))
    now = T0 + k + 0.5
    series = replay.fetch("DE", now)
    assert replay.clock("DE", now).trace_time(now) == FIRST + k * HOUR + HOUR / 2
    assert series.at(now).grams_per_kwh == de_lca[k]
    assert series.current(now).grams_per_kwh == de_lca[k]
    assert series.current(now).start == T0 + k and not series.current(now).forecast
    assert (series.zone, series.source, series.basis, series.resolution_seconds) == ("DE", "replay", "provider", 1)


@pytest.mark.parametrize("k", [HOURS, HOURS + 1, 3 * HOURS + 5])
def test_the_replay_loops_back_to_the_start_when_the_trace_ends(de_file, de_lca, k):
    replay = provider(DE=ReplayZone(file=de_file, speed=3600))
    now = T0 + k + 0.25
    assert replay.fetch("DE", now).at(now).grams_per_kwh == de_lca[k % HOURS]
    assert replay.clock("DE", now).trace_time(now) == FIRST + (k % HOURS) * HOUR + HOUR / 4


def test_one_series_runs_across_the_seam(de_file, de_lca):
    replay = provider(DE=ReplayZone(file=de_file, speed=3600))
    now = T0 + HOURS - 1.5
    series = replay.fetch("DE", now)
    values = {point.start - T0: point.grams_per_kwh for point in series.points}
    assert values[HOURS - 2] == de_lca[-2] and values[HOURS - 1] == de_lca[-1]  # 30 June 22:00, 23:00
    assert values[HOURS] == de_lca[0] and values[HOURS + 1] == de_lca[1]  # then 1 June again
    assert all(b.start - a.start == 1 for a, b in zip(series.points, series.points[1:]))  # no hole at the seam


def test_the_future_is_known_for_48_hours_of_wall_time(de_file, de_lca):
    replay = provider(DE=ReplayZone(file=de_file, speed=1))
    now = T0 + 10 * HOUR + 600
    series = replay.fetch("DE", now)
    assert series.resolution_seconds == HOUR
    assert not any(p.forecast for p in series.points)  # the replay knows its future: all actuals
    actuals = [p for p in series.points if p.start <= now]
    forecasts = [p for p in series.points if p.start > now]
    assert [p.start for p in actuals][-1] == T0 + 10 * HOUR  # the current hour is the newest started
    assert all(now - 2 * HOUR <= p.start <= now for p in actuals)
    assert [p.start for p in forecasts] == [T0 + h * HOUR for h in range(11, 59)]  # 48 hours ahead
    assert [p.grams_per_kwh for p in forecasts] == de_lca[11:59]
    assert series.current(now).grams_per_kwh == de_lca[10]
    assert series.at(now + 24 * HOUR).grams_per_kwh == de_lca[34]
    assert len(series.ahead(now, 24 * HOUR)) == 25  # what the collector's forecast window sees


def test_resolution_scales_with_speed(intensity, de_file, de_lca):
    gb_file = intensity / "lwa_ci_GB_2020-10-01_2020-11-12_mixed.csv"
    gb = {utc(row["Time"]): float(row["Carbon Intensity"]) for row in rows(gb_file)}
    replay = provider(
        DE=ReplayZone(file=de_file, speed=60),  # a trace hour per wall minute
        GB=ReplayZone(file=str(gb_file), speed=60, start="2020-11-02T00:00:00Z"),  # in the 15-minute part
        FAST=ReplayZone(file=de_file, speed=7200),  # two trace hours per wall second
    )
    de = replay.fetch("DE", T0 + 125)
    assert de.resolution_seconds == 60
    assert de.at(T0 + 125).grams_per_kwh == de_lca[2]
    assert all(p.seconds is None for p in de.points)

    now = T0 + 100
    series = replay.fetch("GB", now)
    assert series.resolution_seconds == 30  # the dominant half hour / 60
    assert {p.seconds for p in series.points} == {15}  # quarter hours here, each 15 wall seconds
    start = utc("2020-11-02 00:00:00")
    assert series.at(now).grams_per_kwh == gb[start + 100 * 60 // 900 * 900]
    assert series.at(now).start == T0 + 90

    fast = replay.fetch("FAST", T0 + 12.5)
    assert len([p for p in fast.points if p.start <= T0 + 12.5]) == MAX_POINTS_BACK
    assert fast.resolution_seconds == 1  # never below a second
    starts = [p.start for p in fast.points]
    assert starts == sorted(set(starts))
    assert all(fast.end(p) - p.start == 1 for p in fast.points)
    for k in range(2, 40):
        # the point covering the end of each wall second stands for it
        assert fast.at(T0 + k + 0.5).grams_per_kwh == de_lca[2 * k + 1]
        assert replay.clock("FAST", T0 + k + 0.5).trace_time(T0 + k + 0.5) == FIRST + (2 * k + 1) * HOUR


def test_start_picks_the_trace_time_mapped_onto_t0(de_file, de_lca):
    replay = provider(DE=ReplayZone(file=de_file, speed=1, start="2022-06-20T12:00:00Z"),
                      LATE=ReplayZone(file=de_file, start="2030-01-01T00:00:00Z"),
                      BAD=ReplayZone(file=de_file, start="July"))
    start = (utc("2022-06-20 12:00:00") - FIRST) // HOUR
    assert replay.fetch("DE", T0 + 1800).at(T0 + 1800).grams_per_kwh == de_lca[start]
    assert replay.fetch("DE", T0 + 3 * HOUR).current(T0 + 3 * HOUR).grams_per_kwh == de_lca[start + 3]
    for zone, message in (("LATE", "outside the trace 2022-06-01T00:00:00Z .. 2022-07-01T00:00:00Z"),
                          ("BAD", "not an ISO date-time")):
        with pytest.raises(FetchError, match=message) as caught:
            replay.fetch(zone, T0)
        assert caught.value.reason == "rejected"


def test_gaps_in_the_trace_stay_gaps_in_the_replay(intensity):
    path = intensity / "carbonadvisor_emaps_SE_2022-06-10_2022-07-19.csv"
    table = [(utc(row["zone_datetime"], "%Y-%m-%dT%H:%M:%S.%fZ"), float(row["carbon_intensity_avg"])) for row in rows(path)]
    gap = next(i for i in range(len(table) - 1) if table[i + 1][0] - table[i][0] == 21 * HOUR)
    before, after = table[gap], table[gap + 1]
    start = datetime.fromtimestamp(before[0], timezone.utc).isoformat()
    replay = provider(SE=ReplayZone(file=str(path), speed=1, start=start))
    series = replay.fetch("SE", T0 + 60)
    assert series.at(T0 + 60).grams_per_kwh == before[1]
    assert series.at(T0 + HOUR + 60) is None  # nothing invented in the hole
    assert series.at(T0 + 20 * HOUR + 3599) is None
    assert series.at(T0 + 21 * HOUR).grams_per_kwh == after[1]
    assert [p.start for p in series.points if p.start > T0 + 60][0] == T0 + 21 * HOUR


def test_a_missing_or_bad_file_is_a_malformed_fetch_and_other_zones_carry_on(intensity, tmp_path, de_file, de_lca):
    lines = Path(de_file).read_bytes().decode("utf-8").splitlines(keepends=True)
    fields = lines[99].split(",")
    fields[5] = "x" + fields[5]  # the LCA value on line 100
    lines[99] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_bytes("".join(lines).encode("utf-8"))
    replay = provider(DE=ReplayZone(file=de_file, speed=3600),
                      GONE=ReplayZone(file=str(tmp_path / "gone.csv")),
                      BAD=ReplayZone(file=str(bad)))
    for _ in range(2):  # and again: the provider stays usable
        with pytest.raises(FetchError) as caught:
            replay.fetch("GONE", T0)
        assert caught.value.reason == "malformed"
        assert str(tmp_path / "gone.csv") in caught.value.message and "cannot read the file" in caught.value.message
        with pytest.raises(FetchError) as caught:
            replay.fetch("BAD", T0)
        assert caught.value.reason == "malformed"
        assert f"{bad}, line 100" in caught.value.message and "not a number" in caught.value.message
        assert replay.fetch("DE", T0 + 3.5).at(T0 + 3.5).grams_per_kwh == de_lca[3]
    with pytest.raises(FetchError) as caught:
        replay.fetch("XX", T0)
    assert caught.value.reason == "rejected"


def test_files_are_read_once_per_provider(de_file, monkeypatch):
    calls: list[str] = []
    real = replay_module.load_trace

    def counting(path):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(replay_module, "load_trace", counting)
    replay = provider(DE=ReplayZone(file=de_file, speed=3600), AGAIN=ReplayZone(file=de_file, speed=60))
    assert calls == []  # lazily
    for now in (T0, T0 + 10, T0 + 20):
        replay.fetch("DE", now)
        replay.fetch("AGAIN", now)
    assert calls == [de_file]


def test_t0_is_the_first_fetch_unless_given(de_file, de_lca):
    replay = provider(clock_start=None, DE=ReplayZone(file=de_file, speed=3600))
    assert replay.clock_start is None
    replay.fetch("DE", T0 + 0.75)
    assert replay.clock_start == T0
    assert replay.fetch("DE", T0 + 5.5).at(T0 + 5.5).grams_per_kwh == de_lca[5]


def test_the_series_stays_bounded_however_fast_the_replay(intensity, de_file):
    replay = provider(DE=ReplayZone(file=de_file, speed=3600),
                      QUARTERS=ReplayZone(file=str(intensity / "lwa_ci_DE_2020-12-01_2020-12-31_15min.csv"), speed=1e7))
    for zone in ("DE", "QUARTERS"):
        series = replay.fetch(zone, T0 + 12345.5)
        assert len(series.points) <= MAX_POINTS_BACK + MAX_POINTS_AHEAD
        assert sum(p.start > T0 + 12345.5 for p in series.points) == MAX_POINTS_AHEAD


def test_provider_jobs_run_the_replay(de_file, de_lca):
    replay = provider(refresh_seconds=7.0, DE=ReplayZone(file=de_file, speed=3600), CA=ReplayZone(file=de_file))
    jobs = provider_jobs(replay)
    assert [(job.zone, job.source, job.interval_seconds) for job in jobs] == [("DE", "replay", 7.0), ("CA", "replay", 7.0)]
    assert replay.zones == ("DE", "CA") and replay.refresh_seconds == 7.0
    assert jobs[0].run(T0 + 1.5).at(T0 + 1.5).grams_per_kwh == de_lca[1]


# -- past: the trace's past on wall time, for a forecaster's history ------------------------------

def test_past_runs_back_across_the_seam_and_before_t0(de_file, de_lca):
    """Real time: an hour of trace per wall hour; before t0 lies the trace's end (the loop)."""
    replay = provider(DE=ReplayZone(file=de_file))
    now = T0 + 5 * HOUR + 600
    past = replay.past("DE", now, 10 * HOUR)
    assert [t - T0 for t, _ in past] == [k * HOUR for k in range(-4, 6)]
    assert [v for _, v in past] == de_lca[-4:] + de_lca[:6]
    assert replay.past("DE", T0 + 5 * HOUR, 10 * HOUR)[-1][0] == T0 + 4 * HOUR  # strictly before now
    assert len(replay.past("DE", now, 40 * 24 * HOUR)) == 40 * 24  # more than the trace: it loops on


def test_past_of_a_fast_replay_keeps_one_point_per_wall_second_and_stays_bounded(intensity, de_file, de_lca):
    replay = provider(DE=ReplayZone(file=de_file, speed=3600),
                      QUARTERS=ReplayZone(file=str(intensity / "lwa_ci_DE_2020-12-01_2020-12-31_15min.csv"), speed=1e7))
    past = replay.past("DE", T0 + 10.5, 30)
    assert [t - T0 for t, _ in past] == list(range(-19, 11))
    assert [v for _, v in past] == de_lca[-19:] + de_lca[:11]
    fast = replay.past("QUARTERS", T0 + 100.5, 86400, max_points=500)
    assert len(fast) == 500 and [t for t, _ in fast] == list(range(T0 - 399, T0 + 101))


def test_past_keeps_the_traces_gaps_and_starts_the_replay(intensity):
    """carbonAdvisor's SE trace has a 21-hour hole on 5-6 July 2022."""
    file = str(intensity / "carbonadvisor_emaps_SE_2022-06-10_2022-07-19.csv")
    replay = provider(clock_start=None, SE=ReplayZone(file=file, start="2022-07-07T00:00:00"))
    now = T0 + 0.5
    past = replay.past("SE", now, 3 * 24 * HOUR)
    assert replay.clock_start == T0
    steps = [b - a for (a, _), (b, _) in zip(past, past[1:])]
    assert max(steps) > 20 * HOUR and all(t < now for t, _ in past)
    assert replay.past("SE", now, 0) == []
