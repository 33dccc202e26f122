"""Carbon intensity computed from the real recorded ENTSO-E payloads, end to end over HTTP.

Aspects: production basis from the mix with the documented lifecycle factors; storage left
out; factor overrides; consumption basis through cross-border flows; day-ahead forecast at the
contract's horizons, its quantiles and greenest windows; staleness; the static provider.
Expected numbers are computed here from entsoe-py's parse of the same payloads and the factor
table written out below from docs/intensity.md, not from gridshift's own code paths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from entsoe import parsers

from gridshift import names
from gridshift.zones import entsoe_area_code
from tests.grid import derive, oracle
from tests.grid.conftest import FI_NEWEST

FI = "emaps_A75_FI_actual_generation_2025-10-21.xml"
SE4 = "emaps_A75_SE4_actual_generation_2025-10-20.xml"
FI_WIND_SOLAR = "emaps_A69_FI_wind_solar_dayahead_2024-02-07.xml"
SE3_FORECAST = "emaps_A71_SE3_generation_forecast_2023-12-27.xml"

# IPCC AR5 lifecycle medians as docs/intensity.md lists them, gCO2eq/kWh.
FACTORS = {
    "B01": 230, "B02": 820, "B03": 490, "B04": 490, "B05": 820, "B06": 650, "B07": 820, "B08": 820,
    "B09": 38, "B11": 24, "B12": 24, "B13": 700, "B14": 12, "B15": 700, "B16": 45, "B17": 230,
    "B18": 12, "B19": 11, "B20": 700,
}


def expected_intensity(mix: dict[str, float], factors: dict[str, float] = FACTORS) -> float:
    generating = {psr: w for psr, w in mix.items() if psr not in ("B10", "B25") and w > 0}
    return sum(w * factors[psr] for psr, w in generating.items()) / sum(generating.values())


def test_production_intensity_of_the_real_finnish_mix(make_exporter, entsoe_xml):
    running = make_exporter(zones=["FI"])
    running.exporter.refresher.run_due()
    expected = expected_intensity(oracle.generation_at(entsoe_xml(FI), FI_NEWEST))
    value = running.value(names.CARBON_INTENSITY, zone="FI", source="entsoe", basis="production")
    assert value == pytest.approx(expected)
    assert 50 < value < 200  # Finland: nuclear, hydro, biomass, wind


def test_storage_charging_does_not_change_the_intensity(make_exporter, fake_entsoe, entsoe_xml):
    newest = oracle.newest_generation_timestamp(entsoe_xml(SE4))
    plain = make_exporter(zones=["SE_4"], now=newest + 600)
    plain.exporter.refresher.run_due()
    fake_entsoe.overrides[SE4] = derive.as_storage_consumption(entsoe_xml(SE4), "B12")
    charged = make_exporter(zones=["SE_4"], now=newest + 600)
    charged.exporter.refresher.run_due()
    key = dict(zone="SE_4", source="entsoe", basis="production")
    assert charged.value(names.CARBON_INTENSITY, **key) == pytest.approx(plain.value(names.CARBON_INTENSITY, **key))


def test_factor_overrides_from_the_configuration(make_exporter, entsoe_xml):
    from gridshift.config import build_config
    from gridshift.exporters.grid.app import build_grid_exporter
    from tests.conftest import TOKEN

    running = make_exporter(zones=["FI"])
    raw = {"grid": {"entsoe": {"zones": ["FI"], "endpoint": running.config.grid.entsoe.endpoint},
                    "emission_factors": {"B14": 66.0}, "staleness_limit_seconds": 3 * 3600}}
    exporter = build_grid_exporter(build_config(raw, env={"ENTSOE_API_KEY": TOKEN}), clock=running.clock)
    exporter.refresher.run_due()
    series = exporter.store.views()["FI"].intensity("entsoe", "production")
    expected = expected_intensity(oracle.generation_at(entsoe_xml(FI), FI_NEWEST), {**FACTORS, "B14": 66.0})
    assert series is not None and series.points[0].grams_per_kwh == pytest.approx(expected)


def flows_document(*, into: str, out_of: str, start: int, megawatts: list[float]) -> str:
    """A physical-flow answer in ENTSO-E's A11 Publication_MarketDocument shape (no real A11
    payload is recorded in ../shared/data); hourly, as ENTSO-E publishes most borders."""
    from datetime import datetime, timezone

    def fmt(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")

    points = "".join(f"<Point><position>{i + 1}</position><quantity>{v}</quantity></Point>" for i, v in enumerate(megawatts))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:0">
  <mRID>flows</mRID><type>A11</type>
  <TimeSeries><mRID>1</mRID><businessType>A66</businessType>
    <in_Domain.mRID codingScheme="A01">{entsoe_area_code(into)}</in_Domain.mRID>
    <out_Domain.mRID codingScheme="A01">{entsoe_area_code(out_of)}</out_Domain.mRID>
    <quantity_Measure_Unit.name>MAW</quantity_Measure_Unit.name><curveType>A01</curveType>
    <Period><timeInterval><start>{fmt(start)}</start><end>{fmt(start + 3600 * len(megawatts))}</end></timeInterval>
      <resolution>PT60M</resolution>{points}</Period>
  </TimeSeries>
</Publication_MarketDocument>"""


def test_consumption_basis_traces_imports(make_exporter, fake_entsoe, entsoe_xml):
    """SE4 (real mix, 80 % renewable) importing from FI (real mix, nuclear-heavy)."""
    se4 = entsoe_xml(SE4)
    newest = oracle.newest_generation_timestamp(se4)
    imports_mw = 450.0
    fake_entsoe.extra.append((
        {"documentType": "A11", "in_Domain": entsoe_area_code("SE_4"), "out_Domain": entsoe_area_code("FI")},
        flows_document(into="SE_4", out_of="FI", start=newest - 23 * 3600, megawatts=[imports_mw] * 24),
    ))
    running = make_exporter(zones=["SE_4"], now=newest + 600, neighbours={"SE_4": ["FI"]}, )
    running.exporter.refresher.run_due()
    own = oracle.generation_at(se4, newest)
    fi_mix = oracle.generation_at(entsoe_xml(FI), oracle.newest_generation_timestamp(entsoe_xml(FI)))
    own_w, imp_w = sum(own.values()), imports_mw * 1e6
    expected = (own_w * expected_intensity(own) + imp_w * expected_intensity(fi_mix)) / (own_w + imp_w)
    key = dict(zone="SE_4", source="entsoe")
    assert running.value(names.CARBON_INTENSITY, basis="consumption", **key) == pytest.approx(expected)
    assert running.value(names.CARBON_INTENSITY, basis="production", **key) == pytest.approx(expected_intensity(own))
    # FI is fetched as a neighbour (generation only) and its mix published too.
    assert running.series(names.GENERATION_WATTS)
    assert {r["documentType"] for r in fake_entsoe.requests if r.get("in_Domain") == entsoe_area_code("FI")} == {"A75"}


def test_no_consumption_basis_without_the_flows(make_exporter, entsoe_xml):
    newest = oracle.newest_generation_timestamp(entsoe_xml(SE4))
    running = make_exporter(zones=["SE_4"], now=newest + 600, neighbours={"SE_4": ["FI"]})
    running.exporter.refresher.run_due()  # no A11 answer: "No matching data"
    key = dict(zone="SE_4", source="entsoe")
    assert running.value(names.CARBON_INTENSITY, basis="consumption", **key) is None
    assert running.value(names.CARBON_INTENSITY, basis="production", **key) is not None


def day_ahead_for_fi(fake_entsoe, entsoe_xml) -> tuple[str, str]:
    """FI's real actuals, followed by real day-ahead curves moved to start at the next hour:
    SE3's total generation forecast (a neighbouring grid of similar size) and FI's own wind and
    solar forecast, both re-timed; their values are untouched."""
    start = FI_NEWEST + 900  # 2025-10-24T12:00Z
    total = derive.shift(entsoe_xml(SE3_FORECAST), start - 1703718000)  # 2023-12-27T23:00Z
    wind_solar = derive.shift(entsoe_xml(FI_WIND_SOLAR), start - 1707346800)  # 2024-02-07T23:00Z
    fake_entsoe.extra.append(({"documentType": "A71", "processType": "A01", "in_Domain": entsoe_area_code("FI")}, total))
    fake_entsoe.overrides[FI_WIND_SOLAR] = wind_solar
    return total, wind_solar


def expected_forecast(total_xml: str, wind_solar_xml: str, actual: dict[str, float]) -> pd.Series:
    total = parsers.parse_generation(total_xml)
    total = (total.iloc[:, 0] if isinstance(total, pd.DataFrame) else total) * 1e6
    renewables = parsers.parse_generation(wind_solar_xml) * 1e6
    rest_mix = {psr: w for psr, w in actual.items() if psr not in ("B16", "B18", "B19")}
    rest_intensity = expected_intensity(rest_mix)
    values = {}
    for moment, total_w in total.items():
        solar = renewables.loc[moment, "Solar"]
        wind = renewables.loc[moment, "Wind Onshore"]
        rest = max(0.0, total_w - solar - wind)
        values[moment] = (solar * FACTORS["B16"] + wind * FACTORS["B19"] + rest * rest_intensity) / total_w
    return pd.Series(values)


def test_day_ahead_forecast_at_the_contract_horizons(make_exporter, fake_entsoe, entsoe_xml):
    total, wind_solar = day_ahead_for_fi(fake_entsoe, entsoe_xml)
    running = make_exporter(zones=["FI"], now=FI_NEWEST + 1200)
    running.exporter.refresher.run_due()
    expected = expected_forecast(total, wind_solar, oracle.generation_at(entsoe_xml(FI), FI_NEWEST))
    for horizon, seconds in (("1h", 3600), ("3h", 3 * 3600), ("6h", 6 * 3600), ("12h", 12 * 3600), ("24h", 24 * 3600)):
        moment = (FI_NEWEST + 1200 + seconds) // 3600 * 3600
        value = running.value(names.CARBON_INTENSITY_FORECAST, zone="FI", source="entsoe", horizon=horizon)
        assert value == pytest.approx(expected[pd.Timestamp(moment, unit="s", tz="UTC")]), horizon


def test_forecast_quantiles_and_greenest_windows(make_exporter, fake_entsoe, entsoe_xml):
    total, wind_solar = day_ahead_for_fi(fake_entsoe, entsoe_xml)
    now = FI_NEWEST + 1200
    running = make_exporter(zones=["FI"], now=now)
    running.exporter.refresher.run_due()
    expected = expected_forecast(total, wind_solar, oracle.generation_at(entsoe_xml(FI), FI_NEWEST))
    # Now is 12:05. The coming 24 h overlap the forecast hours 12:00 today to 12:00 tomorrow;
    # the latest actual (11:45-12:00) has ended and is not part of what is coming.
    window = expected.iloc[:25].tolist()
    for q in ("0.25", "0.5", "0.75"):
        got = running.value(names.CARBON_INTENSITY_FORECAST_QUANTILE, zone="FI", source="entsoe", quantile=q)
        assert got == pytest.approx(float(np.quantile(window, float(q)))), q
    hourly = expected.iloc[:24]  # 1 h windows that end by 12:05 tomorrow
    best_hour = hourly.idxmin()
    start = running.value(names.CARBON_INTENSITY_BEST_WINDOW_START, zone="FI", source="entsoe", duration="1h")
    assert start == best_hour.timestamp()
    four = expected.iloc[:24].rolling(4).mean().dropna()  # 4 h windows ending by 12:05 tomorrow
    start4 = running.value(names.CARBON_INTENSITY_BEST_WINDOW_START, zone="FI", source="entsoe", duration="4h")
    assert start4 == (four.idxmin() - pd.Timedelta(hours=3)).timestamp()
    mean4 = running.value(names.CARBON_INTENSITY_BEST_WINDOW_MEAN, zone="FI", source="entsoe", duration="4h")
    assert mean4 == pytest.approx(four.min())


def test_stale_intensity_is_withheld_but_its_timestamp_stays(make_exporter):
    running = make_exporter(zones=["FI"], now=FI_NEWEST + 600)
    running.exporter.refresher.run_due()
    assert running.value(names.CARBON_INTENSITY, zone="FI", source="entsoe", basis="production") is not None
    running.clock.now = FI_NEWEST + 3 * 3600 + 1
    assert running.series(names.CARBON_INTENSITY) == {}
    assert running.value(names.GRID_DATA_TIMESTAMP, zone="FI", source="entsoe", dataset="intensity_production") == FI_NEWEST


def test_static_provider(make_exporter):
    running = make_exporter(zones=[], static={"ONPREM": 250})
    running.exporter.refresher.run_due()
    assert running.value(names.CARBON_INTENSITY, zone="ONPREM", source="static", basis="provider") == 250
    assert running.value(names.CARBON_INTENSITY_FORECAST, zone="ONPREM", source="static", horizon="24h") == 250


def test_replay_provider_through_the_exporter(make_exporter, recorded_data):
    """The real June 2022 German trace at one trace hour per wall second, from 2022-06-01T00:00Z."""
    import csv

    trace = recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv"
    running = make_exporter(zones=[], now=1_800_000_000, grid={
        "replay": {"zones": {"DE": {"file": str(trace), "speed": 3600, "start": "2022-06-01T00:00Z"}}}})
    running.exporter.refresher.run_due()  # t0 = now
    with trace.open(encoding="utf-8") as handle:
        rows = {row["Datetime (UTC)"]: float(row["Carbon Intensity gCO₂eq/kWh (LCA)"]) for row in csv.DictReader(handle)}
    assert running.value(names.CARBON_INTENSITY, zone="DE", source="replay", basis="provider") == rows["2022-06-01 00:00:00"]
    # Five trace hours later, before the next fetch: the held series is still right.
    running.clock.now += 5
    assert running.value(names.CARBON_INTENSITY, zone="DE", source="replay", basis="provider") == rows["2022-06-01 05:00:00"]



def test_thresholds_absolute_relative_and_default(make_exporter, fake_entsoe, entsoe_xml):
    day_ahead_for_fi(fake_entsoe, entsoe_xml)
    running = make_exporter(zones=["FI"], now=FI_NEWEST + 1200, static={"ONPREM": 250}, grid={"thresholds": {
        "default": {"high": 400, "critical": 600, "low": 100},
        "FI": {"high": "p75", "low": "p25"},
    }})
    running.exporter.refresher.run_due()
    threshold = names.CARBON_INTENSITY_THRESHOLD
    p75 = running.value(names.CARBON_INTENSITY_FORECAST_QUANTILE, zone="FI", source="entsoe", quantile="0.75")
    p25 = running.value(names.CARBON_INTENSITY_FORECAST_QUANTILE, zone="FI", source="entsoe", quantile="0.25")
    assert running.value(threshold, zone="FI", level="high") == p75
    assert running.value(threshold, zone="FI", level="low") == p25
    assert running.value(threshold, zone="FI", level="critical") == 600  # from default
    assert running.value(threshold, zone="ONPREM", level="high") == 400
