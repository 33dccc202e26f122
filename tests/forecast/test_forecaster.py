"""The forecaster on real slices of the benchmark (data/forecast/) and on bad input.

Aspects: real data gives ordered quantiles for 48 hours, using the TSO forecasts and the production
mix per source where given;
the fit is deterministic; bad input (NaN, negatives, duplicates, gaps, sub-hourly points) is
cleaned and counted; too little history falls back to persistence and says so; nothing at or
after `now` is used. Speed is the benchmark's business, not asserted here.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from benchmarks.forecast import data
from gridshift.exporters.grid.forecasting import Fuel, History, Settings, features, fit
from gridshift.exporters.grid.forecasting.clean import to_hourly
from gridshift.recordings import REPO_DATA_DIR

FOLDER = REPO_DATA_DIR / "forecast"
DE = FOLDER / "DE_lifecycle_emissions_2021-06-01_2021-07-14.csv"
DE_FUEL = FOLDER / "DE_fuel_forecast_2021-06-01_2021-07-14"
AUS = FOLDER / "AUS_QLD_lifecycle_emissions_2021-06-01_2021-07-14.csv"
NOW = int(datetime(2021, 7, 10, tzinfo=timezone.utc).timestamp())
FAST = Settings(trees=40)


def history(path=DE) -> History:
    series = data.read_emissions(path, target="lifecycle").intensity
    return History(timestamps=series.hours * 3600, values=series.values)


def de_fuel(until_hours: int = 24) -> Fuel:
    fuel = data.read_fuel_forecasts(DE_FUEL)
    hours = np.arange(NOW // 3600 - 40 * 24, NOW // 3600 + until_hours)
    return Fuel(timestamps=hours * 3600, forecasts={name: s.lookup(hours) for name, s in fuel.items()})


def history_with_mix(path=DE, *, spoil: bool = False) -> History:
    emissions = data.read_emissions(path, target="lifecycle")
    hours = emissions.intensity.hours
    mix = {name: s.lookup(hours) for name, s in emissions.mix.items()}
    if spoil:  # unknown, negative and missing sources: shares from what is left
        first = sorted(mix)[0]
        mix[first] = mix[first].copy()
        mix[first][::7] = math.nan
        mix[first][3::11] = -1.0
    return History(timestamps=hours * 3600, values=emissions.intensity.values, mix=mix)


def assert_ordered(forecast):
    for p in forecast.points:
        assert 0 <= p.p10 <= p.p50 <= p.p90, p


def test_real_history_gives_48_ordered_hours_from_now():
    model = fit(history=history(), now=NOW, settings=FAST)
    forecast = model.predict(now=NOW, hours=48)
    assert not forecast.fallback and forecast.reason == "model"
    assert [p.start for p in forecast.points] == [NOW + 3600 * h for h in range(48)]
    assert_ordered(forecast)
    actual = dict(zip(history().timestamps, history().values))
    errors = [abs(p.p50 - actual[p.start]) / actual[p.start] for p in forecast.points]
    assert np.mean(errors) < 0.5  # a sane forecast of a real day, not a tuned figure
    assert model.size_bytes < 2_000_000


def test_the_tso_forecasts_are_features_and_change_the_forecast():
    with_fuel = fit(history=history(), now=NOW, fuel=de_fuel(), settings=FAST)
    assert sorted(with_fuel.fuel_tail) == ["solar", "wind"]
    a = with_fuel.predict(now=NOW, hours=24)
    b = fit(history=history(), now=NOW, settings=FAST).predict(now=NOW, hours=24)
    assert_ordered(a)
    assert [p.p50 for p in a.points] != [p.p50 for p in b.points]


def test_load_and_total_generation_forecasts_are_features_and_are_used():
    """The benchmark has no load or total generation forecasts; here a load forecast that carries the
    intensity's own shape (a grid whose fossil share follows demand) beside DE's real wind and solar:
    with it, day 1 of the real days after NOW is forecast better than without."""
    fuel = de_fuel()
    series = data.read_emissions(DE, target="lifecycle").intensity
    hours = np.asarray(fuel.timestamps) // 3600
    actual = series.lookup(hours)
    load = np.where(hours < NOW // 3600 + 24, 40e9 + 60e6 * actual, np.nan)
    total = load * 1.1
    both = Fuel(fuel.timestamps, {**fuel.forecasts, "load": load, "total_generation": total})
    with_demand = fit(history=history(), now=NOW, fuel=both, settings=FAST)
    assert sorted(with_demand.fuel_tail) == ["load", "solar", "total_generation", "wind"]
    names = features.names(sorted(both.forecasts))
    assert {"load_residual", "renewables_share_of_load", "total_generation_residual"} <= set(names)
    assert with_demand.regressor.num_feature() == len(names)

    def day1_mape(model, fuel_now):
        forecast = model.predict(now=NOW, hours=24, fuel=fuel_now)
        return np.mean([abs(p.p50 - series.lookup(np.array([p.start // 3600]))[0]) / series.lookup(np.array([p.start // 3600]))[0]
                        for p in forecast.points])

    without = fit(history=history(), now=NOW, fuel=fuel, settings=FAST)
    assert day1_mape(with_demand, both) < 0.8 * day1_mape(without, fuel)


def test_the_production_mix_is_a_feature_and_changes_the_forecast():
    with_mix = fit(history=history_with_mix(), now=NOW, settings=FAST)
    assert "wind" in with_mix.mix_tail and "nuclear" in with_mix.mix_tail
    shares = np.nansum([g.values for g in with_mix.mix_tail.values()], axis=0)
    assert np.nanmax(shares) <= 1 + 1e-9 and np.nanmin(shares) > 0.9  # only sources under 1 % are left out
    a = with_mix.predict(now=NOW, hours=48, history=history_with_mix())
    b = fit(history=history(), now=NOW, settings=FAST).predict(now=NOW, hours=48)
    assert not a.fallback and a.reason == "model"
    assert_ordered(a)
    assert [p.p50 for p in a.points] != [p.p50 for p in b.points]
    # a history without the mix at predict time uses the fit's own tail of it
    assert with_mix.predict(now=NOW, hours=48).points == a.points


def test_a_spoilt_mix_is_tolerated():
    forecast = fit(history=history_with_mix(spoil=True), now=NOW, settings=FAST).predict(now=NOW)
    assert not forecast.fallback and len(forecast.points) == 48
    assert_ordered(forecast)


def test_a_history_only_region_with_month_first_timestamps():
    series = data.read_emissions(AUS, target="lifecycle").intensity
    assert series.hours[0] * 3600 == datetime(2021, 6, 1, tzinfo=timezone.utc).timestamp()
    forecast = fit(history=history(AUS), now=NOW, settings=FAST).predict(now=NOW)
    assert not forecast.fallback and len(forecast.points) == 48
    assert_ordered(forecast)


def test_the_same_seed_gives_the_same_forecast():
    first = fit(history=history(), now=NOW, fuel=de_fuel(), settings=FAST).predict(now=NOW)
    second = fit(history=history(), now=NOW, fuel=de_fuel(), settings=FAST).predict(now=NOW)
    assert first == second


def test_nothing_at_or_after_now_is_used():
    h = history()
    model = fit(history=h, now=NOW, settings=FAST)
    ts = np.asarray(h.timestamps)
    values = np.where(ts >= NOW, 1e6, np.asarray(h.values))  # a future that would show
    assert fit(history=History(ts, values), now=NOW, settings=FAST).predict(now=NOW) == model.predict(now=NOW)


def test_bad_input_is_cleaned_and_counted():
    h = history()
    ts, values = list(h.timestamps), list(h.values)
    ts += [ts[100], ts[200]]  # two repeated hours, the later rows win
    values += [values[100], values[200]]
    values[300], values[301] = math.nan, float("inf")
    values[400] = -5.0
    del ts[500:548], values[500:548]  # a two-day gap
    model = fit(history=History(ts, values), now=NOW, settings=FAST)
    c = model.cleaning
    assert (c.dropped_nan, c.dropped_negative, c.duplicates) == (2, 1, 2)
    assert c.missing_hours == 48 + 3
    forecast = model.predict(now=NOW)
    assert not forecast.fallback
    assert_ordered(forecast)


def test_subhourly_points_are_averaged_into_their_hour():
    grid, cleaning = to_hourly([0, 900, 1800, 2700, 3600], [1.0, 2.0, 3.0, 4.0, 10.0])
    assert grid.values.tolist() == [2.5, 10.0] and cleaning.merged_subhourly == 3


@pytest.mark.parametrize("days", [0.5, 5, 13])
def test_too_short_a_history_falls_back_to_persistence_and_says_so(days):
    h = history()
    ts = np.asarray(h.timestamps)
    keep = (ts >= NOW - days * 86400) & (ts < NOW)
    model = fit(history=History(ts[keep], np.asarray(h.values)[keep]), now=NOW)
    forecast = model.predict(now=NOW, hours=48)
    assert forecast.fallback and model.fallback
    assert "14 days" in forecast.reason and "persistence" in forecast.reason
    assert len(forecast.points) == 48
    assert_ordered(forecast)
    known = dict(zip(ts[keep], np.asarray(h.values)[keep]))
    if days >= 2:  # same hour yesterday for day 1, two days back for day 2
        assert forecast.points[0].p50 == known[NOW - 86400]
        assert forecast.points[30].p50 == known[NOW + 30 * 3600 - 2 * 86400]


def test_no_usable_history_at_all_is_a_flagged_empty_forecast():
    model = fit(history=History([0, 3600], [math.nan, -1.0]), now=NOW)
    forecast = model.predict(now=NOW)
    assert forecast.fallback and forecast.points == () and "no usable history" in forecast.reason


def test_a_stale_history_is_not_presented_as_a_model_forecast():
    model = fit(history=history(), now=NOW - 5 * 86400, settings=FAST)
    forecast = model.predict(now=NOW)  # five days on, nothing newer merged in
    assert forecast.fallback and "24 hours before now" in forecast.reason


def test_newer_history_is_merged_in_at_predict_time():
    model = fit(history=history(), now=NOW - 2 * 86400, settings=FAST)
    forecast = model.predict(now=NOW, history=history())
    assert not forecast.fallback


def test_settings_are_checked_once_naming_each_problem():
    with pytest.raises(ValueError, match="trees must be positive.*coverage"):
        Settings(trees=0, coverage=1.5)


def test_now_must_be_aware_and_hours_within_the_horizon():
    model = fit(history=history(), now=NOW, settings=FAST)
    with pytest.raises(ValueError):
        model.predict(now=datetime(2021, 7, 10))
    with pytest.raises(ValueError):
        model.predict(now=NOW, hours=49)


def test_the_persistence_blend_and_the_interval_scale_come_from_the_calibration_days():
    hours = np.arange(NOW // 3600 - 120 * 24, NOW // 3600)
    noise = np.random.default_rng(0).normal(0, 20, len(hours))
    values = 300 + 80 * np.sin(2 * np.pi * hours / 24) + 40 * np.sin(2 * np.pi * hours / (24 * 9)) + noise
    h = History(hours * 3600, values)
    model = fit(history=h, now=NOW, settings=Settings(trees=40, blend=True))
    assert model.blend.shape == (4,) and ((0 <= model.blend) & (model.blend <= 1)).all()
    wider = fit(history=h, now=NOW, settings=Settings(trees=40, blend=True, interval_scale=1.5 * model.settings.interval_scale))
    assert np.allclose(wider.offsets, 1.5 * model.offsets)
    a, b = model.predict(now=NOW), wider.predict(now=NOW)
    assert [p.p50 for p in a.points] == [p.p50 for p in b.points]
    assert all(q.p90 - q.p10 >= p.p90 - p.p10 for p, q in zip(a.points, b.points))
    unblended = fit(history=h, now=NOW, settings=Settings(trees=40, blend=False))
    assert len(unblended.blend) == 0 and not unblended.fallback
