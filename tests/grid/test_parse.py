"""ENTSO-E payload parsing on the recorded real documents.

Aspects: compressed curves (A03) expanded like entsoe-py does; 15- and 60-minute resolutions;
load documents; forecast documents filtered on process type; acknowledgement documents;
malformed XML; DST days; unsupported resolutions and units.
"""

from __future__ import annotations

import pytest

from gridshift.exporters.grid import mix
from gridshift.exporters.grid.parse import (
    NoDataAcknowledgement, ParseError, RejectedRequest, parse_document, parse_resolution,
)
from gridshift.recordings import NO_MATCHING_DATA
from tests.grid import derive, oracle

FI = "emaps_A75_FI_actual_generation_2025-10-21.xml"
SE4 = "emaps_A75_SE4_actual_generation_2025-10-20.xml"
DK1_LOAD = "emaps_A65_DK1_actual_load_2023-12-28.xml"
FI_WIND_SOLAR = "emaps_A69_FI_wind_solar_dayahead_2024-02-07.xml"
FI_WIND_SOLAR_CURRENT = "emaps_A69_FI_wind_solar_current_2024-02-07.xml"
SE3_FORECAST = "emaps_A71_SE3_generation_forecast_2023-12-27.xml"


@pytest.mark.parametrize(("file", "step", "slots"), [(FI, 900, 288), (SE4, 3600, 71)])
def test_compressed_curves_expand_to_every_slot_with_entsoe_py_values(entsoe_xml, file, step, slots):
    text = entsoe_xml(file)
    document = parse_document(text)
    assert (document.document_type, document.process_type) == ("A75", "A16")
    for series in document.series:
        starts = [interval.start for interval in series.intervals]
        assert len(starts) == slots, series.psr_type
        assert all(b - a == step for a, b in zip(starts, starts[1:])), series.psr_type
    # Every expanded value agrees with entsoe-py's independent parse at a sample of moments.
    by_psr = {series.psr_type: {i.start: i.value for i in series.intervals} for series in document.series}
    first = document.series[0].intervals[0].start
    for moment in (first, first + 17 * step, first + (slots - 1) * step):
        expected = oracle.generation_at(text, moment)
        assert {psr: values[moment] for psr, values in by_psr.items()} == pytest.approx(expected)


def test_load_document_matches_entsoe_py(entsoe_xml):
    text = entsoe_xml(DK1_LOAD)
    reading = mix.latest_reading(parse_document(text))
    expected = oracle.load_series(text)
    assert reading is not None
    assert reading.timestamp == int(expected.index[-1].timestamp())
    assert reading.watts == pytest.approx(float(expected.iloc[-1, 0]) * 1e6)


def test_forecast_profiles_merge_days(entsoe_xml):
    generation = mix.profile(parse_document(entsoe_xml(SE3_FORECAST)))
    assert list(generation.series) == [mix.TOTAL]
    assert len(generation.series[mix.TOTAL]) == 72  # three day-ahead TimeSeries of 24 hours
    wind_solar = mix.profile(parse_document(entsoe_xml(FI_WIND_SOLAR)))
    assert sorted(wind_solar.series) == ["B16", "B19"]
    assert all(len(v) == 3 * 96 for v in wind_solar.series.values())


def test_process_type_is_checked_so_current_forecasts_are_not_taken_for_day_ahead(entsoe_xml):
    document = parse_document(entsoe_xml(FI_WIND_SOLAR_CURRENT))
    assert document.process_type == "A18"
    with pytest.raises(ParseError, match="expected document A69/A01, got A69/A18"):
        mix.require_document(document, document_type="A69", process_type="A01")


def test_no_matching_data_acknowledgement():
    with pytest.raises(NoDataAcknowledgement, match="No matching data found"):
        parse_document(NO_MATCHING_DATA)


def test_other_acknowledgements_are_rejections():
    text = NO_MATCHING_DATA.replace("<code>999</code>", "<code>B11</code>").replace(
        "No matching data found for", "Not all requested values were provided for")
    with pytest.raises(RejectedRequest, match="reason B11"):
        parse_document(text)


@pytest.mark.parametrize("cut", [100, 5000, -20])
def test_truncated_xml_is_a_clear_parse_error(entsoe_xml, cut):
    with pytest.raises(ParseError, match="not well-formed XML"):
        parse_document(entsoe_xml(FI)[:cut])


def test_html_error_page_is_not_a_document():
    with pytest.raises(ParseError, match="unexpected document 'html', expected one of GL_MarketDocument"):
        parse_document("<html><body>Service Unavailable</body></html>")


def test_non_numeric_quantity_names_the_element(entsoe_xml):
    text = entsoe_xml(SE4).replace("<quantity>0.9</quantity>", "<quantity>n/a</quantity>", 1)
    assert text != entsoe_xml(SE4)
    with pytest.raises(ParseError, match="quantity is not a number"):
        parse_document(text)


def test_unexpected_unit_is_refused(entsoe_xml):
    with pytest.raises(ParseError, match="unexpected unit 'KWH'"):
        parse_document(entsoe_xml(SE4).replace("<quantity_Measure_Unit.name>MAW<", "<quantity_Measure_Unit.name>KWH<"))


@pytest.mark.parametrize(("text", "seconds"), [("PT15M", 900), ("PT30M", 1800), ("PT60M", 3600), ("PT1H", 3600), ("P1D", 86400)])
def test_resolutions(text, seconds):
    assert parse_resolution(text) == seconds


@pytest.mark.parametrize("text", ["PT0M", "P1Y", "15min", ""])
def test_unsupported_resolutions(text):
    with pytest.raises(ParseError, match="unsupported resolution"):
        parse_resolution(text)


@pytest.mark.parametrize(("file", "step"), [(FI, 900), (SE4, 3600)])
def test_dst_end_day_has_no_gap_and_no_duplicate(entsoe_xml, file, step):
    """The real payload moved onto 2025-10-26, the day Europe leaves summer time (25 local hours)."""
    original = parse_document(entsoe_xml(file))
    first = original.series[0].intervals[0].start
    dst_change = 1761440400  # 2025-10-26T01:00Z, 03:00 CEST becomes 02:00 CET
    moved = derive.shift(entsoe_xml(file), dst_change - 12 * 3600 - first)
    document = parse_document(moved)
    for series in document.series:
        starts = [interval.start for interval in series.intervals]
        assert len(set(starts)) == len(starts)
        assert all(b - a == step for a, b in zip(starts, starts[1:]))
        assert starts[0] < dst_change < starts[-1]
    latest = mix.latest_generation_mix(document, vanished_after_seconds=3 * 3600)
    assert latest is not None and latest.watts == pytest.approx(oracle.generation_at(moved, latest.timestamp))
