"""History in production, on the real recorded payloads and traces: one backfilled day as hourly
series (checked against entsoe-py's own parse and against the live exporter's intensity), the
backfill through the real ENTSO-E transport to a local ENTSO-E, and what the forecaster reads
(backfill, live observations, the live day-ahead forecast, a replay's past) merged per hour.

Expected values come from entsoe-py's pandas parsers, pandas' resampling and the factor table of
docs/intensity.md (tests/grid/test_intensity.py), not from gridshift's code paths."""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from entsoe import parsers

from gridshift.config import ReplaySettings, ReplayZone
from gridshift.exporters.grid import datasets, mix
from gridshift.exporters.grid.backfill import DAY, Backfill, Chunk, HistoryStore
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.history import BackfillRunner, HistoryBook, day_series, entsoe_day_fetcher
from gridshift.exporters.grid.intensity import mix_intensity
from gridshift.exporters.grid.pacing import RequestPacer
from gridshift.exporters.grid.parse import ParseError, parse_document
from gridshift.exporters.grid.providers.replay import ReplayProvider
from gridshift.exporters.grid.records import IntensityPoint
from gridshift.exporters.grid.snapshot import Held
from gridshift.exporters.grid.sources.entsoe import EntsoeSource
from gridshift.exporters.grid.traces import load_trace
from gridshift.recordings import shift_times
from gridshift.secrets import Secret
from tests.conftest import TOKEN, Clock
from tests.grid import derive, oracle
from tests.grid.test_intensity import FACTORS, expected_intensity

FI = "emaps_A75_FI_actual_generation_2025-10-21.xml"
SE4 = "emaps_A75_SE4_actual_generation_2025-10-20.xml"
FI_DAYAHEAD = "emaps_A69_FI_wind_solar_dayahead_2024-02-07.xml"
FI_CURRENT = "emaps_A69_FI_wind_solar_current_2024-02-07.xml"
SE3_TOTAL = "emaps_A71_SE3_generation_forecast_2023-12-27.xml"
DK1_LOAD = "emaps_A65_DK1_actual_load_2023-12-28.xml"
HOUR = 3600


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


def hourly_generation(xml_text: str) -> pd.DataFrame:
    """entsoe-py's actual generation per type (MW), averaged per hour by pandas."""
    frame = parsers.parse_generation(xml_text)
    if isinstance(frame.columns, pd.MultiIndex):
        frame = frame.xs("Actual Aggregated", axis=1, level=-1)
    return frame.resample("1h").mean()


def expected_hours(xml_text: str) -> dict[int, tuple[float, float]]:
    """hour -> (intensity, total watts) of each hour in which every type has a value."""
    out = {}
    for moment, row in hourly_generation(xml_text).dropna().iterrows():
        watts = {oracle.PSR_BY_NAME[name]: float(value) * 1e6 for name, value in row.items()}
        out[int(moment.timestamp())] = (expected_intensity(watts), sum(watts.values()))
    return out


# -- one day's answer as hourly series ------------------------------------------------------------

@pytest.mark.parametrize("file,hours", [(FI, 72), (SE4, 71)])
def test_generation_hours_match_entsoe_py_and_the_factor_table(entsoe_xml, file, hours):
    """FI: quarter-hours in compressed curves (A03); SE4: hours."""
    series = day_series("generation", entsoe_xml(file), FACTORS)
    expected = expected_hours(entsoe_xml(file))
    assert len(series["intensity"]) == len(series["generation"]) == len(expected) == hours
    for (hour, value), (same_hour, total) in zip(series["intensity"], series["generation"]):
        assert hour == same_hour and hour % HOUR == 0
        assert value == pytest.approx(expected[hour][0], rel=1e-9)
        assert total == pytest.approx(expected[hour][1], rel=1e-9)
    assert [h for h, _ in series["intensity"]] == sorted(expected)
    # The mix: each production type's share of the hour's production, on the same hours.
    per_type = hourly_generation(entsoe_xml(file)).dropna()
    assert {name for name in series if name.startswith("share:")} == {f"share:{oracle.PSR_BY_NAME[n]}" for n in per_type.columns}
    for name in per_type.columns:
        got = series[f"share:{oracle.PSR_BY_NAME[name]}"]
        assert [h for h, _ in got] == sorted(expected)
        assert [w for _, w in got] == pytest.approx(list(per_type[name] / per_type.sum(axis=1)), rel=1e-9)


def test_an_hourly_mix_gives_the_live_exporters_own_intensity_for_the_newest_interval(entsoe_xml):
    """SE4 reports hourly: its newest complete hour is the live exporter's newest mix."""
    text = entsoe_xml(SE4)
    live = mix.latest_generation_mix(parse_document(text), vanished_after_seconds=3 * HOUR)
    assert live is not None and live.resolution_seconds == HOUR
    hour, value = day_series("generation", text, FACTORS)["intensity"][-1]
    assert hour == live.timestamp == oracle.newest_generation_timestamp(text)
    assert value == pytest.approx(mix_intensity(live.watts, FACTORS))


def test_a_quarter_hourly_hour_is_the_intensity_of_its_mean_mix(entsoe_xml):
    """FI's newest hour: the mean of the four quarter-hour mixes the live exporter would publish in turn."""
    text = entsoe_xml(FI)
    newest = oracle.newest_generation_timestamp(text)  # 11:45
    hour = newest - 3 * 900
    frame = parsers.parse_generation(text)  # entsoe-py's own parse, read once
    quarters = [{oracle.PSR_BY_NAME[name]: float(value) * 1e6
                 for name, value in frame.loc[pd.Timestamp(hour + k * 900, unit="s", tz="UTC")].items()}
                for k in range(4)]
    mean_mix = {psr: sum(q[psr] for q in quarters) / 4 for psr in quarters[0]}
    series = dict(day_series("generation", text, FACTORS)["intensity"])
    assert series[hour] == pytest.approx(expected_intensity(mean_mix))
    assert min(expected_intensity(q) for q in quarters) <= series[hour] <= max(expected_intensity(q) for q in quarters)


def test_a_chunks_window_keeps_only_its_day(entsoe_xml):
    day = utc("2025-10-22T00:00")
    series = day_series("generation", entsoe_xml(FI), FACTORS, start=day, end=day + DAY)
    assert [h for h, _ in series["intensity"]] == [day + k * HOUR for k in range(24)]


def test_storage_charging_is_never_generation(entsoe_xml):
    plain = day_series("generation", entsoe_xml(SE4), FACTORS)
    charged = day_series("generation", derive.as_storage_consumption(entsoe_xml(SE4), "B12"), FACTORS)
    assert charged == plain


def test_an_hour_a_type_has_not_reported_yet_is_left_out(entsoe_xml):
    """A type that reports that day but not (yet) the last hour: that hour is incomplete."""
    text = derive.end_early(entsoe_xml(SE4), "B12", 2)
    full = dict(day_series("generation", entsoe_xml(SE4), FACTORS)["intensity"])
    late = dict(day_series("generation", text, FACTORS)["intensity"])
    assert sorted(full.keys() - late.keys()) == sorted(full)[-2:]
    assert all(late[h] == pytest.approx(full[h]) for h in late)


def test_wind_and_solar_day_ahead_hourly_match_entsoe_py(entsoe_xml):
    text = entsoe_xml(FI_DAYAHEAD)
    series = day_series("wind_solar_forecast", text, FACTORS)
    expected = parsers.parse_generation(text, nett=True).resample("1h").mean()
    assert set(series) == {"wind", "solar"} and len(series["wind"]) == len(expected) == 72
    for (hour, wind), (_, solar), (moment, row) in zip(series["wind"], series["solar"], expected.iterrows()):
        assert hour == int(moment.timestamp())
        assert wind == pytest.approx(row["Wind Onshore"] * 1e6) and solar == pytest.approx(row["Solar"] * 1e6)


def test_load_and_total_generation_day_ahead_hourly_match_entsoe_py(entsoe_xml):
    """A71 as recorded (SE3); A65 day-ahead is the recorded A65 with process type A01 (same shape)."""
    total = entsoe_xml(SE3_TOTAL)
    load = derive.set_process_type(entsoe_xml(DK1_LOAD), "A01")
    for dataset, name, text in (("generation_forecast", "total_generation", total), ("load_forecast", "load", load)):
        series = day_series(dataset, text, FACTORS)
        expected = parsers.parse_loads(text, process_type="A01").iloc[:, 0]
        assert set(series) == {name} and len(series[name]) == len(expected) > 40
        assert series[name] == [(int(m.timestamp()), pytest.approx(v * 1e6)) for m, v in expected.items()]
    day = utc("2023-12-29T00:00")
    assert [h for h, _ in day_series("load_forecast", load, FACTORS, start=day, end=day + DAY)["load"]] == \
        list(range(day, day + DAY, HOUR))
    # The actual load (A16) is not a forecast: ignored. A71 where an A65 was asked: a parse error.
    assert day_series("load_forecast", entsoe_xml(DK1_LOAD), FACTORS) == {}
    with pytest.raises(ParseError):
        day_series("load_forecast", total, FACTORS)


def test_the_live_generation_mix_is_remembered_per_hour(entsoe_xml):
    """What the refresher holds each round is the newest interval's mix: four rounds, FI's recorded
    quarter-hours of one hour, give that hour's mean per type; rounds that repeat an interval count once."""
    profile = mix.profile(parse_document(entsoe_xml(FI)))
    hour = utc("2025-10-23T10:00")
    rounds = [mix.GenerationMix(start, {psr: next(i.value for i in intervals if i.start <= start < i.end)
                                        for psr, intervals in profile.series.items()}, {}, resolution_seconds=900)
              for start in (hour, hour, hour + 900, hour + 1800, hour + 2700)]
    held: dict = {}
    book = HistoryBook(HistoryStore(), inputs=lambda: held)
    for latest in rounds:
        held[datasets.GENERATION.key("FI")] = Held(latest, fetched_at=0.0)
        book.observe("FI", [(latest.timestamp, 100.0)])
    by_type = book.mix("FI", hour + 2 * HOUR)
    assert set(by_type) == set(profile.series)
    total = sum(sum(r.watts.values()) for r in rounds[1:]) / 4
    for psr in profile.series:
        quarters = [r.watts[psr] for r in rounds[1:]]
        assert by_type[psr] == {hour: pytest.approx(sum(quarters) / 4 / total, rel=2e-3, abs=1e-4)}
    assert book.mix("FI", hour) == {psr: {} for psr in profile.series}  # nothing before now
    assert HistoryBook().mix("FI", hour) == {}
    # 3 h later the hour is final: moved to the compact columns, the same shares.
    later = mix.GenerationMix(hour + 4 * HOUR, rounds[-1].watts, {}, resolution_seconds=900)
    held[datasets.GENERATION.key("FI")] = Held(later, fetched_at=0.0)
    book.observe("FI", [(later.timestamp, 100.0)])
    assert {psr: v[hour] for psr, v in book.mix("FI", hour + 5 * HOUR).items()} == \
        {psr: v[hour] for psr, v in by_type.items()}
    # The live total is the actual generation beside the day-ahead forecasts (what the model's
    # day-ahead method feature starts from).
    ahead = shift_times(entsoe_xml(FI_DAYAHEAD), utc("2025-10-22T23:00") - utc("2024-02-07T23:00"))
    held[datasets.WIND_SOLAR_FORECAST.key("FI")] = Held(mix.profile(parse_document(ahead)), fetched_at=0.0)
    fuel = book.fuel("FI", hour + 2 * HOUR)
    assert fuel is not None and fuel.generation is not None
    total = dict(zip(fuel.timestamps, fuel.generation))
    assert total[hour] == pytest.approx(sum(sum(r.watts.values()) for r in rounds[1:]) / 4)
    assert all(math.isnan(v) for h, v in total.items() if h != hour)


def test_the_current_forecast_process_type_a18_is_ignored(entsoe_xml):
    assert parse_document(entsoe_xml(FI_CURRENT)).process_type == "A18"
    assert day_series("wind_solar_forecast", entsoe_xml(FI_CURRENT), FACTORS) == {}


def test_wrong_documents_and_broken_xml_are_parse_errors(entsoe_xml):
    with pytest.raises(ParseError):
        day_series("generation", entsoe_xml(FI_DAYAHEAD), FACTORS)  # an A69 where an A75 was asked
    with pytest.raises(ParseError):
        day_series("wind_solar_forecast", entsoe_xml(FI), FACTORS)
    with pytest.raises(ParseError):
        day_series("generation", entsoe_xml(FI)[:5000], FACTORS)  # truncated
    with pytest.raises(ValueError):
        day_series("load", entsoe_xml(FI), FACTORS)


def test_nan_and_negative_quantities_are_missing_values(entsoe_xml):
    text = entsoe_xml(FI_DAYAHEAD)
    first_wind = text.index("<quantity>", text.index("B19"))
    broken = text[:first_wind] + "<quantity>NaN</quantity>" + text[text.index("</quantity>", first_wind) + 11:]
    series = day_series("wind_solar_forecast", broken, FACTORS)
    assert len(series["wind"]) == 71 and series["wind"][0][0] == utc("2024-02-08T00:00")  # its hour incomplete
    negative = text[:first_wind] + "<quantity>-5</quantity>" + text[text.index("</quantity>", first_wind) + 11:]
    assert day_series("wind_solar_forecast", negative, FACTORS)["wind"] == series["wind"]


# -- fetching days for the backfill ---------------------------------------------------------------

class RecordedSource:
    """Answers every request with one recorded payload (or a failure), noting what was asked."""

    def __init__(self, text: str | None = None, error: FetchError | None = None) -> None:
        self.text, self.error, self.asked = text, error, []

    def fetch(self, *, dataset, zone, start, end):
        self.asked.append((dataset, zone, start, end))
        if self.error is not None:
            raise self.error
        return self.text


def test_the_fetcher_asks_for_the_chunks_day_and_keeps_its_hours(entsoe_xml):
    source = RecordedSource(entsoe_xml(FI))
    day = utc("2025-10-23T00:00")
    series = entsoe_day_fetcher(source, FACTORS)(Chunk("FI", "generation", day))
    assert source.asked == [("generation", "FI", datetime(2025, 10, 23, tzinfo=timezone.utc),
                             datetime(2025, 10, 24, tzinfo=timezone.utc))]
    assert [h for h, _ in series["intensity"]] == [day + k * HOUR for k in range(24)]


def test_a_malformed_day_is_a_fetch_error_and_is_not_kept(entsoe_xml):
    fetch = entsoe_day_fetcher(RecordedSource(entsoe_xml(FI)[:-400]), FACTORS)
    chunk = Chunk("FI", "generation", utc("2025-10-23T00:00"))
    with pytest.raises(FetchError) as raised:
        fetch(chunk)
    assert raised.value.reason == "malformed"
    store = HistoryStore()
    clock = Clock(chunk.end + HOUR)
    status = Backfill(chunks=[chunk], fetch=fetch, store=store, pacer=RequestPacer(10, clock=clock),
                      clock=clock).run()
    assert (status.done, status.failed, status.errors["malformed"]) == (0, 1, 1) and not store.has(chunk)


def test_source_failures_pass_through_and_no_data_acknowledgements_are_no_data(entsoe_xml):
    chunk = Chunk("FI", "generation", utc("2025-10-23T00:00"))
    banned = FetchError("rate_limited", "Requester banned until 2025-10-23T10:00Z")
    with pytest.raises(FetchError) as raised:
        entsoe_day_fetcher(RecordedSource(error=banned), FACTORS)(chunk)
    assert raised.value is banned
    from gridshift.recordings import NO_MATCHING_DATA

    with pytest.raises(FetchError) as raised:
        entsoe_day_fetcher(RecordedSource(NO_MATCHING_DATA), FACTORS)(chunk)
    assert raised.value.reason == "no_data"


# -- the backfill at start, through the real transport to a local ENTSO-E -------------------------

def entsoe_source(fake_entsoe) -> EntsoeSource:
    return EntsoeSource(api_key=Secret(TOKEN), endpoint=fake_entsoe.url, timeout_seconds=5)


def test_the_runner_backfills_today_and_the_days_before_and_the_book_reads_them(fake_entsoe, entsoe_xml, tmp_path,
                                                                                caplog):
    # The recorded day-ahead forecasts moved onto the generation recording's days (times only); the
    # load forecast is the recorded A65 with its process type made day-ahead (A01), the same shape.
    shift = utc("2025-10-21T23:00") - utc("2024-02-07T23:00")
    fake_entsoe.overrides[FI_DAYAHEAD] = shift_times(entsoe_xml(FI_DAYAHEAD), shift)
    total = shift_times(entsoe_xml(SE3_TOTAL), utc("2025-10-21T23:00") - utc("2023-12-27T23:00"))
    load = derive.set_process_type(shift_times(entsoe_xml(DK1_LOAD), utc("2025-10-21T15:00") - utc("2023-12-28T15:00")), "A01")
    fake_entsoe.extra += [({"documentType": "A71", "processType": "A01"}, total),
                          ({"documentType": "A65", "processType": "A01"}, load)]
    now = utc("2025-10-24T12:00") + 600
    clock = Clock(now)
    runner = BackfillRunner(zones=["FI"], fetch=entsoe_day_fetcher(entsoe_source(fake_entsoe), FACTORS),
                            store=HistoryStore(tmp_path), days=2, clock=clock)
    with caplog.at_level(logging.INFO, logger="gridshift.exporters.grid.history"):
        status = runner.run()
    # 2 days and today, 4 datasets.
    assert (status.planned, status.done, status.failed, status.pending, status.running) == (12, 12, 0, 0, False)
    assert "backfilling 2 days of 1 zones: 12 requests, about 1 min at 100 a minute" in caplog.text
    assert "finished" in caplog.text and "12 of 12 (zone, dataset, day) done, 0 failed" in caplog.text
    starts = sorted({(r["documentType"], r["processType"], r["periodStart"], r["periodEnd"]) for r in fake_entsoe.requests})
    assert starts == [(doc, process, day, end) for doc, process in (("A65", "A01"), ("A69", "A01"), ("A71", "A01"), ("A75", "A16"))
                      for day, end in (("202510220000", "202510230000"), ("202510230000", "202510240000"),
                                       ("202510240000", "202510250000"))]
    assert len(list(tmp_path.glob("FI/*/*.json"))) == 8  # today stays in memory

    book = HistoryBook(runner.store, recent=runner.recent)
    intensity = book.intensity("FI", now)
    hours = [h for h, _ in intensity]
    assert hours == list(range(utc("2025-10-22T00:00"), utc("2025-10-24T12:00"), HOUR))
    expected = expected_hours(entsoe_xml(FI))
    assert all(value == pytest.approx(expected[h][0]) for h, value in intensity)
    fuel = book.fuel("FI", now)
    assert fuel is not None and set(fuel.forecasts) == {"wind", "solar", "load", "total_generation"}
    assert list(fuel.timestamps) == list(range(utc("2025-10-22T00:00"), utc("2025-10-24T23:00"), HOUR))  # ahead too
    for name, payload in (("load", load), ("total_generation", total)):
        expected_forecast = parsers.parse_loads(payload, process_type="A01").iloc[:, 0]
        got = {h: v for h, v in zip(fuel.timestamps, fuel.forecasts[name]) if not math.isnan(v)}
        wanted = {int(m.timestamp()): v * 1e6 for m, v in expected_forecast.items()
                  if utc("2025-10-22T00:00") <= m.timestamp() < utc("2025-10-24T23:00")}
        assert got and got == pytest.approx(wanted)
    assert fuel.forecasts["wind"][0] == pytest.approx(day_series(
        "wind_solar_forecast", fake_entsoe.overrides[FI_DAYAHEAD], FACTORS)["wind"][1][1])
    assert fuel.generation is not None and math.isnan(fuel.generation[-1])  # no actual ahead
    assert fuel.generation[0] == pytest.approx(expected[utc("2025-10-22T00:00")][1])
    # The production mix on the intensity's hours, each type's hourly share as entsoe-py and pandas
    # give it (held as float16: three significant digits).
    history = book.history("FI", now)
    assert list(history.timestamps) == hours and list(history.values) == [v for _, v in intensity]
    per_type = hourly_generation(entsoe_xml(FI)).dropna()
    assert history.mix is not None and set(history.mix) == {oracle.PSR_BY_NAME[name] for name in per_type.columns}
    for name in per_type.columns:
        by_hour = {int(m.timestamp()): v for m, v in (per_type[name] / per_type.sum(axis=1)).items()}
        assert all(w == pytest.approx(by_hour[h], rel=2e-3, abs=1e-4)
                   for h, w in zip(hours, history.mix[oracle.PSR_BY_NAME[name]]))

    # A restart resumes from the folder: only today is asked again.
    fake_entsoe.requests.clear()
    again = BackfillRunner(zones=["FI"], fetch=entsoe_day_fetcher(entsoe_source(fake_entsoe), FACTORS),
                           store=HistoryStore(tmp_path), days=2, clock=clock)
    assert again.run().done == 12 and {r["periodStart"] for r in fake_entsoe.requests} == {"202510240000"}


def test_the_daemon_thread_stops_when_asked_even_inside_a_ban(fake_entsoe):
    clock = Clock(utc("2025-10-24T12:00"))
    pacer = RequestPacer(100, clock=clock)
    pacer.ban(clock.now + 3600)
    runner = BackfillRunner(zones=["FI", "SE_4"], fetch=entsoe_day_fetcher(entsoe_source(fake_entsoe), FACTORS),
                            store=HistoryStore(), days=3, pacer=pacer, clock=clock).start()
    assert runner.start() is runner  # once
    threading.Event().wait(0.2)
    assert runner.status.running and runner.status.planned == 32  # (3 days + today) x 2 zones x 4 datasets
    runner.stop(timeout=5)
    status = runner.status
    assert not status.running and status.done == 0 and status.pending == 32 and not fake_entsoe.requests


def test_a_ban_is_waited_out_and_counted(entsoe_xml, caplog):
    answers = [FetchError("rate_limited", "HTTP 429", retry_after=0.3)]
    asked = []

    def fetch(chunk):
        asked.append((chunk, time.time()))
        if answers:
            raise answers.pop()
        return day_series(chunk.dataset, entsoe_xml(SE4), FACTORS, start=chunk.start, end=chunk.end)

    runner = BackfillRunner(zones=["SE_4"], fetch=fetch, store=HistoryStore(), days=1, datasets=["generation"])
    with caplog.at_level(logging.INFO, logger="gridshift.exporters.grid.history"):
        status = runner.run()
    assert (status.planned, status.done, status.failed, dict(status.errors)) == (2, 2, 0, {"rate_limited": 1})
    assert asked[0][0] == asked[1][0] and asked[1][1] - asked[0][1] >= 0.29  # the same day, after the ban
    assert "errors by reason: rate_limited 1" in caplog.text


# -- what the forecaster reads --------------------------------------------------------------------

NOW = utc("2020-12-20T00:00")


@pytest.fixture(scope="module")
def de_15min(recorded_data: Path):
    """Let's Wait Awhile's 15-minute DE trace of December 2020 (ENTSO-E based)."""
    return load_trace(recorded_data / "intensity" / "lwa_ci_DE_2020-12-01_2020-12-31_15min.csv")


def test_a_zone_with_nothing_has_no_history():
    book = HistoryBook(HistoryStore())
    assert book.intensity("FI", NOW) == [] and book.fuel("FI", NOW) is None
    assert HistoryBook().intensity("FI", NOW) == []


def test_observations_become_hourly_means_of_what_arrived(de_15min):
    """Unsorted, repeated rounds of overlapping points, some NaN, negative or forecasts: each hour
    is the mean of the distinct actual points in it, as pandas resamples the trace."""
    points = [(t, v) for t, v in de_15min.points if NOW - 3 * DAY <= t < NOW]
    book = HistoryBook()
    rounds = [points[i:i + 40] for i in range(0, len(points), 24)]  # each round repeats part of the last
    for batch in reversed(rounds):
        book.observe("DE", list(reversed(batch)))
    book.observe("DE", [(NOW - HOUR, math.nan), (NOW - HOUR + 900, -3.0), (NOW - HOUR, float("inf"))])
    book.observe("DE", [IntensityPoint(NOW - HOUR, 9999.0, forecast=True)])
    assert book.observe("DE", [(NOW + HOUR, 1.0), (NOW - DAY, 1.0)], now=NOW) == 0  # ahead, or a final hour
    frame = pd.Series([v for _, v in points], index=pd.to_datetime([t for t, _ in points], unit="s", utc=True))
    expected = frame.resample("1h").mean().dropna()
    got = book.intensity("DE", NOW + HOUR)
    assert [h for h, _ in got] == [int(m.timestamp()) for m in expected.index]
    assert [v for _, v in got] == pytest.approx(list(expected.values))
    assert book.intensity("DE", NOW - DAY)[-1][0] == NOW - DAY - HOUR  # strictly before now


def test_observations_win_over_the_backfill_and_only_max_days_are_kept(entsoe_xml):
    store = HistoryStore()
    day = utc("2025-10-22T00:00")
    store.keep(Chunk("FI", "generation", day),
               day_series("generation", entsoe_xml(FI), FACTORS, start=day, end=day + DAY))
    backfilled = dict(store.series("FI", "intensity"))
    book = HistoryBook(store, max_days=3)
    book.observe("FI", [IntensityPoint(day + 5 * HOUR, 100.0, seconds=900), IntensityPoint(day + 5 * HOUR + 900, 110.0)])
    merged = dict(book.intensity("FI", day + DAY))
    assert merged[day + 5 * HOUR] == 105.0
    assert {h: v for h, v in merged.items() if h != day + 5 * HOUR} == {h: v for h, v in backfilled.items()
                                                                      if h != day + 5 * HOUR}
    book.observe("FI", [(day + 3 * DAY + 6 * HOUR, 50.0)])  # 3 days on: the old observation is dropped
    assert dict(book.intensity("FI", day + 3 * DAY + 4 * HOUR))[day + 5 * HOUR] == backfilled[day + 5 * HOUR]
    assert min(dict(book.intensity("FI", day + 3 * DAY + 4 * HOUR))) == day + 4 * HOUR  # max_days before now


def test_the_live_day_ahead_forecast_is_read_and_remembered(entsoe_xml):
    profile = mix.profile(parse_document(entsoe_xml(FI_DAYAHEAD)))
    held = {datasets.WIND_SOLAR_FORECAST.key("FI"): Held(profile, fetched_at=0.0)}
    book = HistoryBook(HistoryStore(), inputs=lambda: held)
    now = utc("2024-02-08T12:00")
    fuel = book.fuel("FI", now)
    expected = day_series("wind_solar_forecast", entsoe_xml(FI_DAYAHEAD), FACTORS)
    assert fuel is not None and fuel.generation is None
    for name in ("wind", "solar"):  # held as float32: seven significant digits
        assert list(fuel.timestamps) == [h for h, _ in expected[name]]
        assert list(fuel.forecasts[name]) == pytest.approx([v for _, v in expected[name]], rel=1e-6)
    held.clear()  # the held forecast moved on: what was seen stays
    assert list(book.fuel("FI", now).forecasts["wind"]) == list(fuel.forecasts["wind"])


def test_a_replay_zone_reads_the_traces_past(recorded_data: Path):
    file = str(recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv")
    trace = load_trace(file)
    t0 = 1_700_000_000 // HOUR * HOUR
    replay = ReplayProvider(ReplaySettings(zones={"DE": ReplayZone(file=file)}), clock_start=t0)
    book = HistoryBook(replay=replay, max_days=3)
    now = t0 + 5 * HOUR + 600
    got = book.intensity("DE", now)
    values = [v for _, v in trace.points]
    assert [h for h, _ in got] == list(range(now // HOUR * HOUR - 3 * DAY + HOUR, now // HOUR * HOUR + HOUR, HOUR))
    assert [v for _, v in got][-6:] == pytest.approx(values[:6], rel=1e-6)  # from t0 on: the trace's first hours
    # before t0: the trace's end, across the seam
    assert [v for _, v in got][:-6] == pytest.approx(values[-(len(got) - 6):], rel=1e-6)
    book.observe("DE", [(t0 + HOUR, 1.0)])
    assert dict(book.intensity("DE", now))[t0 + HOUR] == 1.0
    assert book.intensity("XX", now) == []
