"""The grid exporter end to end: entsoe-py requests a local ENTSO-E serving the recorded
payloads, the refresher fills the snapshot, and /metrics is scraped over HTTP.

Expected values come from entsoe-py's own parser (tests/grid/oracle.py), not from ours.
"""

from __future__ import annotations

import threading

import pytest
import requests
from werkzeug import Response

from gridshift import names
from gridshift.exporters.grid.production_types import production_type_name
from tests.grid import oracle
from tests.grid.conftest import FI_NEWEST

FI = "emaps_A75_FI_actual_generation_2025-10-21.xml"
SE4 = "emaps_A75_SE4_actual_generation_2025-10-20.xml"
DK1_LOAD = "emaps_A65_DK1_actual_load_2023-12-28.xml"
RENEWABLE_NAMES = {
    "Biomass", "Geothermal", "Hydro Run-of-river and pondage", "Hydro Water Reservoir", "Marine",
    "Other renewable", "Solar", "Wind Offshore", "Wind Onshore",
}


@pytest.mark.parametrize(("zone", "file"), [("FI", FI), ("SE_4", SE4)])
def test_generation_and_renewable_share_match_the_recorded_payload(make_exporter, entsoe_xml, zone, file):
    text = entsoe_xml(file)
    newest = oracle.newest_generation_timestamp(text)
    running = make_exporter(zones=[zone], now=newest + 1800)
    running.exporter.refresher.run_due()

    expected = oracle.generation_at(text, newest)
    published = {
        dict(labels)["psr_type"]: value
        for labels, value in running.series(names.GENERATION_WATTS).items()
        if dict(labels)["zone"] == zone
    }
    assert published == pytest.approx(expected)
    for labels in running.series(names.GENERATION_WATTS):
        label = dict(labels)
        assert label["production_type"] == production_type_name(label["psr_type"])

    renewable = sum(w for psr, w in expected.items() if oracle.PSRTYPE_MAPPINGS[psr] in RENEWABLE_NAMES)
    assert running.value(names.RENEWABLE_SHARE_RATIO, zone=zone) == pytest.approx(renewable / sum(expected.values()))
    assert running.value(names.GRID_DATA_TIMESTAMP, zone=zone, source="entsoe", dataset="generation") == newest


def test_load_and_forecast_timestamps(make_exporter, entsoe_xml):
    load = oracle.load_series(entsoe_xml(DK1_LOAD))
    newest = int(load.index[-1].timestamp())
    running = make_exporter(zones=["DK_1", "SE_3"], now=newest + 1800)
    running.exporter.refresher.run_due()
    assert running.value(names.LOAD_WATTS, zone="DK_1") == pytest.approx(float(load.iloc[-1, 0]) * 1e6)
    # The SE3 day-ahead generation forecast is held (its horizon is what later issues publish).
    assert running.value(names.GRID_DATA_TIMESTAMP, zone="SE_3", source="entsoe", dataset="generation_forecast") == (
        1703973600  # 2023-12-30T22:00Z, the last hour of the recorded forecast
    )


def test_requests_are_what_entsoe_expects(make_exporter, fake_entsoe):
    running = make_exporter(zones=["FI"])
    running.exporter.refresher.run_due()
    asked = {(r["documentType"], r["processType"]) for r in fake_entsoe.requests}
    assert asked == {("A75", "A16"), ("A65", "A16"), ("A71", "A01"), ("A69", "A01"), ("A65", "A01")}
    generation = next(r for r in fake_entsoe.requests if r["documentType"] == "A75")
    assert generation["in_Domain"] == "10YFI-1--------U"
    # 24 hours back from the hour after "now" (2025-10-24T12:15Z): UTC, whole hours.
    assert (generation["periodStart"], generation["periodEnd"]) == ("202510231200", "202510241300")


def test_stale_values_are_not_exported_but_their_timestamp_is(make_exporter):
    running = make_exporter(zones=["FI"], now=FI_NEWEST + 600)
    running.exporter.refresher.run_due()
    assert running.series(names.GENERATION_WATTS)
    running.clock.now = FI_NEWEST + 3 * 3600 + 1
    assert running.series(names.GENERATION_WATTS) == {}
    assert running.series(names.RENEWABLE_SHARE_RATIO) == {}
    assert running.value(names.GRID_DATA_TIMESTAMP, zone="FI", source="entsoe", dataset="generation") == FI_NEWEST


def test_nothing_is_exported_before_the_first_data_and_readiness_follows_the_first_round(make_exporter):
    running = make_exporter(zones=["FI"])
    assert running.series(names.GENERATION_WATTS) == {}
    assert requests.get(f"{running.url}/readyz", timeout=5).status_code == 503
    assert requests.get(f"{running.url}/healthz", timeout=5).status_code == 200
    running.exporter.refresher.run_due()
    ready = requests.get(f"{running.url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert "FI/entsoe/generation" in ready.json()["datasets_held"]


def test_a_scrape_never_waits_on_entsoe(make_exporter, fake_entsoe):
    running = make_exporter(zones=["FI"])
    running.exporter.refresher.run_due()
    before = running.series(names.GENERATION_WATTS)
    release = threading.Event()
    entered = threading.Event()

    def blocked(request):
        entered.set()
        release.wait(10)
        return Response("", status=503)

    fake_entsoe.server.clear()
    fake_entsoe.server.expect_request("/api").respond_with_handler(blocked)
    running.clock.now += 3600
    refresh = threading.Thread(target=running.exporter.refresher.run_due)
    refresh.start()
    try:
        assert entered.wait(5), "the refresher did not call ENTSO-E"
        # Upstream is stuck in the middle of a refresh; the scrape answers from the snapshot.
        assert running.series(names.GENERATION_WATTS) == before
    finally:
        release.set()
        refresh.join(10)
