"""The exporter's ENTSO-E day-ahead method as the benchmark's baseline, on the repository's DE slice:
the factors read from the file reproduce its intensity, and each forecast hour is the method's
formula on the file's own numbers (the exporter's day_ahead_points does the arithmetic)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from benchmarks.forecast import data, tso_method
from gridshift.recordings import REPO_DATA_DIR

FOLDER = REPO_DATA_DIR / "forecast"
DE = FOLDER / "DE_lifecycle_emissions_2021-06-01_2021-07-14.csv"
DE_FUEL = FOLDER / "DE_fuel_forecast_2021-06-01_2021-07-14"
ISSUE = int(datetime(2021, 7, 10, tzinfo=timezone.utc).timestamp()) // 3600


@pytest.fixture(scope="module")
def de():
    return data.read_emissions(DE, target="lifecycle"), data.read_fuel_forecasts(DE_FUEL)


def test_the_factors_read_from_the_file_reproduce_its_intensity(de):
    emissions, _ = de
    factors = tso_method.factors(emissions, ISSUE)
    assert set(factors) >= {"B16", "B19", "coal", "nat_gas"} and all(f >= 0 for f in factors.values())
    assert factors["coal"] > factors["nat_gas"] > factors["B16"]
    hours = emissions.intensity.hours[emissions.intensity.hours < ISSUE]
    names = sorted(emissions.mix)
    production = np.stack([emissions.mix[n].lookup(hours) for n in names], axis=1)
    rebuilt = production @ np.array([factors[tso_method.PSR_OF.get(n, n)] for n in names]) / production.sum(axis=1)
    actual = emissions.intensity.lookup(hours)
    ok = np.isfinite(rebuilt) & np.isfinite(actual)
    assert np.median(np.abs(rebuilt[ok] - actual[ok]) / actual[ok]) < 0.01


def test_each_forecast_hour_is_the_method_on_the_files_numbers(de):
    emissions, fuel = de
    out = tso_method.forecasts(emissions=emissions, fuel=fuel, issues=np.array([ISSUE]))
    assert out is not None and out.shape == (1, 48)
    assert np.isfinite(out[0, :24]).sum() >= 20 and np.isnan(out[0, 24:]).all()  # day 1 only
    f = tso_method.factors(emissions, ISSUE)
    last = np.array([ISSUE - 1])
    mix = {tso_method.PSR_OF.get(n, n): s.lookup(last)[0] for n, s in emissions.mix.items()}
    rest = {k: v for k, v in mix.items() if k not in ("B16", "B19")}
    rest_intensity = sum(v * f[k] for k, v in rest.items()) / sum(rest.values())
    h = 12
    target = np.array([ISSUE + h])
    wind, solar = fuel["wind"].lookup(target)[0], fuel["solar"].lookup(target)[0]
    total = emissions.generation.lookup(target - 24)[0]
    expected = (wind * f["B19"] + solar * f["B16"] + (total - wind - solar) * rest_intensity) / total
    assert out[0, h] == pytest.approx(expected, rel=1e-9)


def test_without_forecasts_or_a_mix_there_is_no_method(de):
    emissions, fuel = de
    assert tso_method.forecasts(emissions=emissions, fuel={}, issues=np.array([ISSUE])) is None
    bare = data.Emissions(emissions.path, emissions.intensity, None, {})
    assert tso_method.forecasts(emissions=bare, fuel=fuel, issues=np.array([ISSUE])) is None
