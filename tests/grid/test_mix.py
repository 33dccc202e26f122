"""The published mix: newest complete interval, vanished and new production types, storage.

Every scenario is a real payload with one derived edit (tests/grid/derive.py).
"""

from __future__ import annotations

import pytest

from gridshift.exporters.grid import mix
from gridshift.exporters.grid.parse import parse_document
from tests.grid import derive, oracle

FI = "emaps_A75_FI_actual_generation_2025-10-21.xml"
SE4 = "emaps_A75_SE4_actual_generation_2025-10-20.xml"
THREE_HOURS = 3 * 3600


def latest(text: str) -> mix.GenerationMix:
    value = mix.latest_generation_mix(parse_document(text), vanished_after_seconds=THREE_HOURS)
    assert value is not None
    return value


@pytest.mark.parametrize("file", [FI, SE4])
def test_complete_payload_publishes_its_newest_interval(entsoe_xml, file):
    text = entsoe_xml(file)
    value = latest(text)
    assert value.timestamp == oracle.newest_generation_timestamp(text)
    assert dict(value.watts) == pytest.approx(oracle.generation_at(text, value.timestamp))


def test_late_production_types_hold_the_mix_at_the_newest_complete_interval(entsoe_xml):
    original = entsoe_xml(FI)
    newest = latest(original).timestamp
    # Nuclear has not reported its last hour yet, wind its last half hour.
    text = derive.end_early(derive.end_early(original, "B14", 4), "B19", 2)
    value = latest(text)
    assert value.timestamp == newest - 3600
    assert set(value.watts) == set(latest(original).watts)
    assert dict(value.watts) == pytest.approx(oracle.generation_at(original, newest - 3600))


def test_no_false_dip_from_an_incomplete_interval(entsoe_xml):
    text = derive.end_early(entsoe_xml(FI), "B14", 1)  # nuclear: 4 GW of 8 GW, missing last
    document = parse_document(text)
    newest = latest(entsoe_xml(FI)).timestamp
    naive_total = sum(i.value for s in document.series for i in s.intervals if i.start == newest)
    published = latest(text)
    assert published.total_watts > 1.5 * naive_total


def test_a_vanished_production_type_no_longer_holds_the_mix_back(entsoe_xml):
    original = entsoe_xml(FI)
    newest = latest(original).timestamp
    text = derive.end_early(original, "B06", 24)  # oil silent for six hours: gone, not late
    value = latest(text)
    assert value.timestamp == newest
    assert "B06" not in value.watts
    assert set(value.watts) == set(latest(original).watts) - {"B06"}


def test_a_production_type_that_appears_is_included(entsoe_xml):
    original = entsoe_xml(SE4)
    without_gas = derive.end_early(original, "B04", 70)  # gas reports one hour only, the first
    assert "B04" not in latest(without_gas).watts
    assert "B04" in latest(original).watts


def test_storage_consumption_is_not_generation(entsoe_xml):
    text = derive.as_storage_consumption(entsoe_xml(SE4), "B12")
    value = latest(text)
    expected = oracle.generation_at(text, value.timestamp)
    assert dict(value.watts) == pytest.approx(expected)
    assert value.storage_consumption_watts["B12"] == pytest.approx(expected["B12"])
    assert value.total_watts == pytest.approx(sum(expected.values()))


def test_hourly_and_quarter_hourly_types_combine(entsoe_xml):
    """A zone where one type reports hourly and the others every 15 minutes."""
    document = parse_document(entsoe_xml(FI))
    hourly = parse_document(entsoe_xml(SE4)).series[0]  # B04, PT60M
    quarter = [s for s in document.series if s.psr_type != "B04"]
    shift = quarter[0].intervals[-1].start - hourly.intervals[-1].start
    moved = mix.Series(hourly.psr_type, "in", hourly.business_type, tuple(
        mix.Interval(i.start + shift, i.end + shift, i.value) for i in hourly.intervals))
    combined = mix.latest_generation_mix(
        mix.Document("A75", "A16", (*quarter, moved)), vanished_after_seconds=THREE_HOURS)
    assert combined is not None
    assert combined.timestamp == quarter[0].intervals[-1].start  # the xx:45 quarter, inside the hour
    assert combined.watts["B04"] == hourly.intervals[-1].value


def test_empty_document_has_no_mix():
    assert mix.latest_generation_mix(mix.Document("A75", "A16", ()), vanished_after_seconds=1) is None
