"""gridshift's own forecast in the exporter (zone_forecasts.py -> derive -> collector and API), on the
recorded June 2022 German trace: a model once there are two weeks of history, persistence (flagged)
before, refitted every hour, and published as the contract's forecast series, a P10-P90 band, the window
quantiles and greenest windows on P50, and in /api/v1/forecast; nothing once it is stale."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask import Flask
from prometheus_client import CollectorRegistry

from gridshift import names
from gridshift.config import ForecastSettings
from gridshift.exporters.grid.api import create_api
from gridshift.exporters.grid.collector import GridCollector
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.forecasting.model import History, fit
from gridshift.exporters.grid.snapshot import GridStore
from gridshift.exporters.grid.traces import load_trace
from gridshift.exporters.grid.views import ZoneView
from gridshift.exporters.grid.zone_forecasts import ZoneForecaster

DAY = 86400
NOW = datetime(2022, 6, 25, 0, 20, tzinfo=timezone.utc).timestamp()


class TraceHistory:
    """The recorded trace as a zone's history (the exporter's HistoryBook does this for replay zones)."""

    def __init__(self, points: list[tuple[int, float]]) -> None:
        self.points = points

    def history(self, zone: str, now: float) -> History:
        before = [(t, v) for t, v in self.points if t < now]
        return History([t for t, _ in before], [v for _, v in before])

    def fuel(self, zone: str, now: float) -> None:
        return None


@pytest.fixture(scope="module")
def june(recorded_data) -> list[tuple[int, float]]:
    return list(load_trace(recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv").points)


class CountingFit:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        return fit(**kwargs)


@pytest.fixture(scope="module")
def forecast(june):
    return ZoneForecaster(history=TraceHistory(june)).issue("DE", NOW)


def test_with_weeks_of_history_the_model_forecasts_48_ordered_hours(forecast, june):
    assert not forecast.fallback and forecast.reason == "model"
    assert len(forecast.points) == 48 and forecast.points[0].start == int(NOW) // 3600 * 3600
    assert all(p.p10 <= p.p50 <= p.p90 for p in forecast.points)
    actual = dict(june)
    errors = [abs(p.p50 - actual[p.start]) / actual[p.start] for p in forecast.points[:24]]
    assert sum(errors) / len(errors) < 0.5  # a sanity bound only: accuracy is the benchmark's business


def test_the_model_is_refitted_every_hour_and_a_fallback_at_every_issue(june):
    """NOW is 00:20: the issues of the same UTC hour share a fit, each new hour fits again (the
    model learns from forecasts issued at its own hour of day)."""
    fitter = CountingFit()
    forecaster = ZoneForecaster(history=TraceHistory(june), fitter=fitter)
    for minutes in (0, 5, 30, 39):
        forecaster.issue("DE", NOW + minutes * 60)
    assert fitter.calls == 1
    forecaster.issue("DE", NOW + 40 * 60)  # 01:00
    forecaster.issue("DE", NOW + 45 * 60)
    assert fitter.calls == 2
    forecaster.issue("DE", NOW + DAY)
    assert fitter.calls == 3 and forecaster.fitted("DE").at == NOW + DAY
    short = ZoneForecaster(history=TraceHistory([p for p in june if p[0] >= NOW - 5 * DAY]), fitter=(counting := CountingFit()))
    first = short.issue("DE", NOW)
    short.issue("DE", NOW + 300)
    assert first.fallback and "under the 14 days" in first.reason and counting.calls == 2
    assert first.points[0].p50 == dict(june)[first.points[0].start - DAY]  # same hour yesterday


def test_the_production_mix_and_the_day_ahead_forecasts_reach_the_model():
    """A zone whose history carries its mix (ENTSO-E's A75 per type, here the benchmark slice's
    production per source) and the TSO's wind and solar forecasts: the model uses both."""
    from tests.forecast.test_forecaster import NOW as SLICE_NOW
    from tests.forecast.test_forecaster import de_fuel, history_with_mix

    class Book:
        def history(self, zone: str, now: float) -> History:
            full = history_with_mix()
            keep = [k for k, t in enumerate(full.timestamps) if t < now]
            return History([full.timestamps[k] for k in keep], [full.values[k] for k in keep],
                           {name: [v[k] for k in keep] for name, v in full.mix.items()})

        def fuel(self, zone: str, now: float):
            return de_fuel()

    forecaster = ZoneForecaster(history=Book())
    forecast = forecaster.issue("DE", SLICE_NOW)
    model = forecaster.fitted("DE").model
    assert not forecast.fallback and sorted(model.fuel_tail) == ["solar", "wind"]
    assert {"wind", "nuclear"} <= set(model.mix_tail)


def test_no_history_is_no_data_and_a_failing_model_an_internal_error(june):
    with pytest.raises(FetchError) as caught:
        ZoneForecaster(history=TraceHistory([])).issue("DE", NOW)
    assert caught.value.reason == "no_data"

    def broken(**_kwargs):
        raise ValueError("bad matrix")

    with pytest.raises(FetchError) as caught:
        ZoneForecaster(history=TraceHistory(june), fitter=broken).issue("DE", NOW)
    assert caught.value.reason == "internal" and "bad matrix" in caught.value.message


def store_with(forecast) -> GridStore:
    store = GridStore()
    store.publish({"DE": ZoneView(zone="DE", forecast=forecast)})
    return store


def scrape(store: GridStore, now: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(GridCollector(store=store, staleness_limit_seconds=3 * 3600, forecast=ForecastSettings(),
                                    thresholds={}, clock=lambda: now))
    return registry


def test_the_collector_publishes_horizons_band_windows_and_the_fallback_flag(forecast):
    registry = scrape(store_with(forecast), NOW)
    by_start = {p.start: p for p in forecast.points}
    hour = int(NOW) // 3600 * 3600
    for horizon, label in ((3600, "1h"), (6 * 3600, "6h"), (24 * 3600, "24h")):
        point = by_start[hour + horizon]
        labels = {"zone": "DE", "source": "forecaster", "horizon": label}
        assert registry.get_sample_value(names.CARBON_INTENSITY_FORECAST, labels) == point.p50
        for q, value in (("0.1", point.p10), ("0.5", point.p50), ("0.9", point.p90)):
            assert registry.get_sample_value(names.CARBON_INTENSITY_FORECAST_BAND, {**labels, "quantile": q}) == value
    assert registry.get_sample_value(names.FORECASTER_FALLBACK, {"zone": "DE"}) == 0
    assert registry.get_sample_value(names.FORECASTER_ISSUED, {"zone": "DE"}) == hour
    start = registry.get_sample_value(names.CARBON_INTENSITY_BEST_WINDOW_START,
                                      {"zone": "DE", "source": "forecaster", "duration": "4h"})
    window = [p.p50 for p in forecast.points if start <= p.start < start + 4 * 3600]
    assert len(window) == 4 and min(sum(p.p50 for p in forecast.points[i:i + 4]) for i in range(21)) == pytest.approx(sum(window))
    assert registry.get_sample_value(names.CARBON_INTENSITY_FORECAST_QUANTILE,
                                     {"zone": "DE", "source": "forecaster", "quantile": "0.5"}) is not None
    # three hours on, past the staleness limit: nothing of the forecaster is published
    later = scrape(store_with(forecast), NOW + 4 * 3600)
    assert later.get_sample_value(names.FORECASTER_FALLBACK, {"zone": "DE"}) is None
    assert later.get_sample_value(names.CARBON_INTENSITY_FORECAST, {"zone": "DE", "source": "forecaster",
                                                                      "horizon": "1h"}) is None


def api_client(store: GridStore, now: float):
    app = Flask("test")
    app.register_blueprint(create_api(store=store, staleness_limit_seconds=3 * 3600, clock=lambda: now,
                                      configured_zones=frozenset({"DE"})))
    return app.test_client()


def test_the_api_answers_from_the_forecasters_median_with_its_band(forecast, june):
    client = api_client(store_with(forecast), NOW)
    [body] = client.get("/api/v1/forecast?zone=DE&duration=2h").get_json()
    assert body["source"] == "forecaster"
    by_start = {p.start: p for p in forecast.points}
    for entry in body["forecastData"]:
        moment = int(datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp())
        assert (entry["p10"], entry["value"], entry["p90"]) == tuple(
            round(getattr(by_start[moment], f), 3) for f in ("p10", "p50", "p90"))
    best = body["optimalDataPoints"][0]
    assert best["duration"] == 120


def test_a_persistence_forecast_is_used_only_when_asked_for(june):
    fallback = ZoneForecaster(history=TraceHistory([p for p in june if p[0] >= NOW - 5 * DAY])).issue("DE", NOW)
    client = api_client(store_with(fallback), NOW)
    assert client.get("/api/v1/forecast?zone=DE&duration=2h").status_code == 503  # no other source here
    [body] = client.get("/api/v1/forecast?zone=DE&duration=2h&source=forecaster").get_json()
    assert body["source"] == "forecaster"
    assert scrape(store_with(fallback), NOW).get_sample_value(names.FORECASTER_FALLBACK, {"zone": "DE"}) == 1


def test_the_exporter_forecasts_a_replay_zone_from_the_traces_past(make_exporter, recorded_data):
    """The whole path in the exporter: the replay's past -> the forecast job -> the view -> /metrics."""
    trace = recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv"
    running = make_exporter(zones=[], now=1_800_000_000, grid={
        "replay": {"zones": {"DE": {"file": str(trace), "speed": 1, "start": "2022-06-25T00:00Z"}}}})
    running.exporter.refresher.run_due()  # the replay's first fetch fixes t0
    running.clock.now += 1  # the forecast job is due with the replay's series held
    running.exporter.refresher.run_due()
    forecast = running.exporter.store.views()["DE"].forecast
    assert forecast is not None and not forecast.fallback, forecast and forecast.reason
    assert running.value(names.FORECASTER_FALLBACK, zone="DE") == 0
    assert running.value(names.CARBON_INTENSITY_FORECAST, zone="DE", source="forecaster", horizon="24h") is not None
    assert running.value(names.CARBON_INTENSITY_FORECAST, zone="DE", source="replay", horizon="24h") is not None


def test_a_static_zone_is_not_forecast_and_the_forecaster_can_be_switched_off(make_exporter):
    running = make_exporter(zones=[], static={"ONPREM": 250})
    assert [job for job in running.exporter.refresher.jobs if job.source == "forecaster"] == []
    off = make_exporter(zones=["FI"], grid={"forecaster": {"enabled": False}})
    assert [job.zone for job in off.exporter.refresher.jobs if job.source == "forecaster"] == []
    on = make_exporter(zones=["FI"])
    assert [job.zone for job in on.exporter.refresher.jobs if job.source == "forecaster"] == ["FI"]
