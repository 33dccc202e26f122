"""The exporter's JSON API: current intensity per zone, and the greenest window for a job.

Aspects: values equal the metrics; the forecast answer has the carbon-aware SDK's shape; every
bad parameter gets a 4xx with a JSON error; unknown zones 404; stale data 503.
"""

from __future__ import annotations

import pytest
import requests

from gridshift import names
from tests.grid.conftest import FI_NEWEST
from tests.grid.test_intensity import day_ahead_for_fi


@pytest.fixture
def fi_with_forecast(make_exporter, fake_entsoe, entsoe_xml):
    day_ahead_for_fi(fake_entsoe, entsoe_xml)
    running = make_exporter(zones=["FI"], now=FI_NEWEST + 1200, static={"ONPREM": 250})
    running.exporter.refresher.run_due()
    return running


def get(running, path: str, **params: str) -> requests.Response:
    return requests.get(f"{running.url}{path}", params=params, timeout=5)


def test_intensity_matches_the_metric(fi_with_forecast):
    answer = get(fi_with_forecast, "/api/v1/intensity", zone="FI")
    assert answer.status_code == 200
    [value] = answer.json()["values"]
    metric = fi_with_forecast.value(names.CARBON_INTENSITY, zone="FI", source="entsoe", basis="production")
    assert value["grams_per_kwh"] == pytest.approx(metric, abs=1e-3)
    assert value == {**value, "source": "entsoe", "basis": "production", "forecast": False,
                     "timestamp": "2025-10-24T11:45:00Z"}


def test_forecast_gives_the_greenest_window_in_the_sdk_shape(fi_with_forecast):
    answer = get(fi_with_forecast, "/api/v1/forecast", zone="FI", duration="4h")
    assert answer.status_code == 200, answer.text
    [body] = answer.json()
    assert body["location"] == "FI" and body["windowSize"] == 240
    [optimal] = body["optimalDataPoints"]
    start = fi_with_forecast.value(names.CARBON_INTENSITY_BEST_WINDOW_START, zone="FI", source="entsoe", duration="4h")
    mean = fi_with_forecast.value(names.CARBON_INTENSITY_BEST_WINDOW_MEAN, zone="FI", source="entsoe", duration="4h")
    from datetime import datetime, timezone

    # Same window as the metric when the deadline is the metric's 24 h window.
    deadline = datetime.fromtimestamp(FI_NEWEST + 1200 + 24 * 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    [within_day] = get(fi_with_forecast, "/api/v1/forecast", zone="FI", duration="240", deadline=deadline).json()
    assert within_day["optimalDataPoints"][0]["timestamp"] == datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert within_day["optimalDataPoints"][0]["value"] == pytest.approx(mean, abs=1e-3)
    # Over the whole forecast (no deadline) the window can only be as green or greener.
    assert optimal["value"] <= mean + 1e-3 and optimal["duration"] == 240
    assert all(point["duration"] == 60 for point in body["forecastData"])


@pytest.mark.parametrize(("params", "status", "message"), [
    ({}, 400, "missing query parameter 'zone'"),
    ({"zone": "FI"}, 400, "missing query parameter 'duration'"),
    ({"zone": "FI", "duration": "soon"}, 400, "duration: not a duration"),
    ({"zone": "FI", "duration": "-2h"}, 400, "duration: not a duration"),
    ({"zone": "FI", "duration": "1h", "deadline": "tomorrow"}, 400, "deadline: not an ISO-8601 time"),
    ({"zone": "FI", "duration": "1h", "deadline": "2030-01-01T00:00"}, 400, "deadline: give a time zone"),
    ({"zone": "FI", "duration": "1h", "deadline": "2001-01-01T00:00Z"}, 400, "deadline: is in the past"),
    ({"zone": "ATLANTIS", "duration": "1h"}, 404, "unknown zone 'ATLANTIS'"),
    ({"zone": "FI", "duration": "72h"}, 422, "does not cover a 4320-minute window"),
    ({"zone": "FI" * 40, "duration": "1h"}, 400, "too long"),
])
def test_bad_forecast_requests(fi_with_forecast, params, status, message):
    answer = get(fi_with_forecast, "/api/v1/forecast", **params)
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_unknown_zone_lists_the_known_ones(fi_with_forecast):
    answer = get(fi_with_forecast, "/api/v1/intensity", zone="XX")
    assert answer.status_code == 404
    assert "FI" in answer.json()["zones"] and "ONPREM" in answer.json()["zones"]


def test_a_configured_zone_without_data_yet_is_503_not_unknown(make_exporter, fake_entsoe):
    running = make_exporter(zones=["DE_LU"], now=FI_NEWEST)  # the recordings hold no DE_LU data
    running.exporter.refresher.run_due()
    for path in ("/api/v1/intensity", "/api/v1/forecast"):
        answer = get(running, path, zone="DE_LU", duration="1h")
        assert answer.status_code == 503 and "no data held for 'DE_LU' yet" in answer.json()["error"]
    unknown = get(running, "/api/v1/intensity", zone="FR")
    assert unknown.status_code == 404 and unknown.json()["zones"] == ["DE_LU"]


def test_stale_zone_is_503(fi_with_forecast):
    fi_with_forecast.clock.now = FI_NEWEST + 4 * 3600
    answer = get(fi_with_forecast, "/api/v1/intensity", zone="FI")
    assert answer.status_code == 503 and "staleness limit" in answer.json()["error"]


def test_static_zone_forecast(fi_with_forecast):
    [body] = get(fi_with_forecast, "/api/v1/forecast", zone="ONPREM", duration="2h").json()
    assert body["source"] == "static" and body["optimalDataPoints"][0]["value"] == 250


def test_the_action_service_reads_the_exporters_forecast_as_served(fi_with_forecast):
    """The planner's forecast client (actions/upstreams.py) against the real exporter's answer."""
    from datetime import datetime, timezone

    from gridshift.actions.upstreams import Intensities

    now = FI_NEWEST + 1200
    client = Intensities(fi_with_forecast.url, timeout_seconds=5)
    forecast = client.forecast("FI", now)
    deadline = datetime.fromtimestamp(now + 96 * 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    [body] = get(fi_with_forecast, "/api/v1/forecast", zone="FI", duration="60", deadline=deadline).json()
    assert forecast is not None and forecast.zone == "FI" and forecast.source == body["source"]
    assert [slot.grams_per_kwh for slot in forecast.slots] == [point["value"] for point in body["forecastData"]]
    assert [slot.end - slot.start for slot in forecast.slots] == [point["duration"] * 60 for point in body["forecastData"]]
    assert client.forecast("ATLANTIS", now) is None  # 404: no plan, the Job runs at once
