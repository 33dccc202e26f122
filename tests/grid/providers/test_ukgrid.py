"""The GB Carbon Intensity API provider against a local server answering the recorded payloads.

Payloads (shared data, see its README): the national `/intensity/{from}/{to}` answer of
2023-07-04 (forecast + actual), served for the provider's `/intensity/{from}/fw48h` request
(same shape); the regional answer for postcode KT1 (region 14, forecast only); the API's 400
error body. The by-region-id test serves the recorded KT1 payload at `/regionid/14`: it is
region 14, and the API answers by id in the same shape as by postcode. Expected values are
read from the JSON files here with the json module.

Aspects: national series (actual where measured, else forecast marked as such), regional by
postcode and by id, the request path (current half hour, fw48h), the pure parse functions,
every failure (the API's 400 message, 401/403, 429 with Retry-After, 5xx, timeout, connection
refused, malformed JSON, wrong shape naming the missing field, negative and non-numeric
intensities, empty data, unconfigured zone), and a run through the refresher and collector.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from types import MappingProxyType

import pytest
from prometheus_client import CollectorRegistry
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gridshift import names
from gridshift.config import Backoff, ForecastSettings, UkGridSettings, UkGridZone
from gridshift.exporters.grid.collector import GridCollector
from gridshift.exporters.grid.instruments import GridInstruments
from gridshift.exporters.grid.providers import provider_jobs
from gridshift.exporters.grid.providers.ukgrid import UkGridProvider, parse_national, parse_regional
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries
from gridshift.exporters.grid.refresher import Refresher
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.derive import Derivation
from gridshift.exporters.grid.snapshot import GridStore

NATIONAL = "ukci_national_intensity_2023-07-04_stuartharris.json"
KT1 = "ukci_regional_postcode_KT1_2023-07-04_stuartharris.json"
ERROR_400 = "ukci_error_400_daterange_yaanno.json"

NOW = datetime(2023, 7, 5, 0, 10, tzinfo=timezone.utc).timestamp()  # inside the recorded second period
FROM = "2023-07-05T00:00Z"
NATIONAL_PATH = f"/intensity/{FROM}/fw48h"
KT1_PATH = f"/regional/intensity/{FROM}/fw48h/postcode/KT1"
REGION_14_PATH = f"/regional/intensity/{FROM}/fw48h/regionid/14"

ZONES = {"GB": UkGridZone(), "GB-KT1": UkGridZone(postcode="KT1"), "GB-SE": UkGridZone(region_id=14)}


def make_provider(server: HTTPServer, *, timeout: float = 2.0, endpoint: str | None = None) -> UkGridProvider:
    settings = UkGridSettings(zones=MappingProxyType(ZONES), endpoint=endpoint or server.url_for("/").rstrip("/"),
                              timeout_seconds=timeout, refresh_seconds=600)
    return UkGridProvider(settings)


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def expected_points(periods: list[dict]) -> list[IntensityPoint]:
    """Each period as the API documents it: the actual once measured, else the forecast."""
    points = []
    for period in periods:
        actual = period["intensity"].get("actual")
        value = actual if actual is not None else period["intensity"]["forecast"]
        points.append(IntensityPoint(epoch(period["from"]), float(value), forecast=actual is None))
    return points


def fetch_error(provider: UkGridProvider, zone: str = "GB") -> FetchError:
    with pytest.raises(FetchError) as caught:
        provider.fetch(zone, NOW)
    return caught.value


# --- the recorded payloads -----------------------------------------------------------------


def test_national_series_is_the_recorded_actuals(httpserver, intensity_text, intensity_json):
    httpserver.expect_request(NATIONAL_PATH).respond_with_data(intensity_text(NATIONAL), content_type="application/json")
    series = make_provider(httpserver).fetch("GB", NOW)
    periods = intensity_json(NATIONAL)["data"]
    assert list(series.points) == expected_points(periods)
    assert [p.grams_per_kwh for p in series.points] == [129.0, 122.0]  # the recorded actuals
    assert (series.zone, series.source, series.basis, series.resolution_seconds) == ("GB", "ukgrid", "provider", 1800)
    assert series.current(NOW).grams_per_kwh == periods[1]["intensity"]["actual"]


def test_national_period_without_actual_is_a_forecast(httpserver, intensity_json):
    # Derived from the recording: the second period as the API sends a period not yet measured.
    document = intensity_json(NATIONAL)
    document["data"][1]["intensity"]["actual"] = None
    httpserver.expect_request(NATIONAL_PATH).respond_with_json(document)
    series = make_provider(httpserver).fetch("GB", NOW)
    assert series.points[0] == IntensityPoint(epoch("2023-07-04T23:30Z"), 129.0)
    assert series.points[1] == IntensityPoint(epoch("2023-07-05T00:00Z"), 136.0, forecast=True)
    assert series.current(NOW).grams_per_kwh == 129.0  # the newest actual beats this half hour's forecast


def test_regional_by_postcode(httpserver, intensity_text, intensity_json):
    httpserver.expect_request(KT1_PATH).respond_with_data(intensity_text(KT1), content_type="application/json")
    series = make_provider(httpserver).fetch("GB-KT1", NOW)
    periods = intensity_json(KT1)["data"]["data"]
    assert list(series.points) == expected_points(periods)
    assert [(p.grams_per_kwh, p.forecast) for p in series.points] == [(121.0, True), (116.0, True)]
    assert series.zone == "GB-KT1" and series.basis == "provider"


def test_regional_by_region_id(httpserver, intensity_text, intensity_json):
    # The recorded KT1 payload is region 14; the by-id answer has the same shape.
    assert intensity_json(KT1)["data"]["regionid"] == 14
    httpserver.expect_request(REGION_14_PATH).respond_with_data(intensity_text(KT1), content_type="application/json")
    series = make_provider(httpserver).fetch("GB-SE", NOW)
    assert list(series.points) == expected_points(intensity_json(KT1)["data"]["data"])
    assert series.zone == "GB-SE"


@pytest.mark.parametrize(("now", "start"), [
    ("2023-07-04T23:59:59+00:00", "2023-07-04T23:30Z"),
    ("2023-07-05T00:00:00+00:00", "2023-07-05T00:00Z"),
    ("2024-02-29T13:31:07+00:00", "2024-02-29T13:30Z"),
])
def test_requests_start_at_the_current_half_hour(httpserver, intensity_text, now, start):
    httpserver.expect_request(f"/intensity/{start}/fw48h").respond_with_data(intensity_text(NATIONAL))
    make_provider(httpserver).fetch("GB", datetime.fromisoformat(now).timestamp())
    assert [request.path for request, _ in httpserver.log] == [f"/intensity/{start}/fw48h"]


def test_parse_functions_are_pure(intensity_json):
    national = parse_national(intensity_json(NATIONAL), "GB")
    assert list(national.points) == expected_points(intensity_json(NATIONAL)["data"])
    regional = parse_regional(intensity_json(KT1), "GB-KT1")
    assert list(regional.points) == expected_points(intensity_json(KT1)["data"]["data"])
    # The list form of the current-period regional endpoints: one region in a list.
    listed = {"data": [intensity_json(KT1)["data"]]}
    assert parse_regional(listed, "GB-KT1") == regional


def test_parse_keeps_an_odd_period_length(intensity_json):
    document = intensity_json(NATIONAL)
    document["data"][1]["to"] = "2023-07-05T01:00Z"  # an hour-long period (derived)
    series = parse_national(document, "GB")
    assert series.points[1].seconds == 3600 and series.points[0].seconds is None
    assert series.at(epoch("2023-07-05T00:45Z")) == series.points[1]


# --- failures ------------------------------------------------------------------------------


def test_the_apis_400_message_is_surfaced(httpserver, intensity_text, intensity_json):
    httpserver.expect_request(NATIONAL_PATH).respond_with_data(intensity_text(ERROR_400), status=400,
                                                               content_type="application/json")
    error = fetch_error(make_provider(httpserver))
    assert error.reason == "client_error"
    assert intensity_json(ERROR_400)["error"]["message"] in error.message
    assert "HTTP 400" in error.message and "GB" in error.message


@pytest.mark.parametrize("status", [401, 403])
def test_refused_is_unauthorized(httpserver, status):
    httpserver.expect_request(NATIONAL_PATH).respond_with_data("<html>Forbidden</html>", status=status)
    error = fetch_error(make_provider(httpserver))
    assert error.reason == "unauthorized"
    assert "needs no token" in error.message


def test_rate_limit_carries_retry_after(httpserver):
    httpserver.expect_request(NATIONAL_PATH).respond_with_data("slow down", status=429, headers={"Retry-After": "120"})
    error = fetch_error(make_provider(httpserver))
    assert (error.reason, error.retry_after) == ("rate_limited", 120.0)


@pytest.mark.parametrize(("status", "headers", "retry_after"), [
    (500, {}, None), (502, {}, None), (503, {"Retry-After": "30"}, 30.0),
])
def test_server_errors(httpserver, status, headers, retry_after):
    httpserver.expect_request(NATIONAL_PATH).respond_with_data("<html>oops</html>", status=status, headers=headers)
    error = fetch_error(make_provider(httpserver))
    assert (error.reason, error.retry_after) == ("server_error", retry_after)
    assert error.transient


def test_timeout(httpserver, intensity_text):
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response(intensity_text(NATIONAL), 200, content_type="application/json")

    httpserver.expect_request(NATIONAL_PATH).respond_with_handler(slow)
    error = fetch_error(make_provider(httpserver, timeout=0.3))
    assert error.reason == "timeout"


def test_connection_refused(httpserver, closed_port):
    error = fetch_error(make_provider(httpserver, endpoint=f"http://127.0.0.1:{closed_port}"))
    assert error.reason == "connection"
    assert str(closed_port) not in error.message  # no URL from the exception text


@pytest.mark.parametrize("cut", [1, 60, 200])
def test_truncated_json_is_malformed(httpserver, intensity_text, cut):
    httpserver.expect_request(NATIONAL_PATH).respond_with_data(intensity_text(NATIONAL)[:cut])
    error = fetch_error(make_provider(httpserver))
    assert error.reason == "malformed" and "not JSON" in error.message


def _without(document: dict, *path: str | int) -> dict:
    target = document
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return document


@pytest.mark.parametrize(("zone", "file", "remove", "named"), [
    ("GB", NATIONAL, ("data",), "`data` missing"),
    ("GB", NATIONAL, ("data", 1, "intensity"), "`data[1].intensity` missing"),
    ("GB", NATIONAL, ("data", 0, "from"), "`data[0].from` missing"),
    ("GB-KT1", KT1, ("data", "data"), "`data.data` missing"),
    ("GB-KT1", KT1, ("data", "data", 1, "intensity", "forecast"), "`data.data[1].intensity.forecast` missing"),
])
def test_wrong_shape_names_the_missing_field(httpserver, intensity_json, zone, file, remove, named):
    document = _without(intensity_json(file), *remove)
    httpserver.expect_request(KT1_PATH if zone == "GB-KT1" else NATIONAL_PATH).respond_with_json(document)
    error = fetch_error(make_provider(httpserver), zone)
    assert error.reason == "malformed"
    assert named in error.message


def test_national_answer_to_a_regional_request_is_malformed(httpserver, intensity_text):
    httpserver.expect_request(KT1_PATH).respond_with_data(intensity_text(NATIONAL))
    error = fetch_error(make_provider(httpserver), "GB-KT1")
    assert error.reason == "malformed" and "`data` not an object" in error.message


@pytest.mark.parametrize(("value", "problem"), [
    (-5, "negative"), ("129", "not a number"), (None, "not a number"), (True, "not a number"),
])
def test_bad_intensity_values_are_malformed(httpserver, intensity_json, value, problem):
    document = intensity_json(NATIONAL)
    document["data"][0]["intensity"]["actual"] = value
    if value is None:
        document["data"][0]["intensity"]["forecast"] = None
    httpserver.expect_request(NATIONAL_PATH).respond_with_json(document)
    error = fetch_error(make_provider(httpserver))
    assert error.reason == "malformed" and problem in error.message and "data[0].intensity" in error.message


def test_bad_time_is_malformed(httpserver, intensity_json):
    document = intensity_json(NATIONAL)
    document["data"][1]["from"] = "yesterday"
    httpserver.expect_request(NATIONAL_PATH).respond_with_json(document)
    error = fetch_error(make_provider(httpserver))
    assert error.reason == "malformed" and "`data[1].from`" in error.message


@pytest.mark.parametrize(("zone", "path", "document"), [
    ("GB", NATIONAL_PATH, {"data": []}),
    ("GB-KT1", KT1_PATH, {"data": {"regionid": 14, "shortname": "South East England", "data": []}}),
])
def test_empty_data_is_no_data(httpserver, zone, path, document):
    httpserver.expect_request(path).respond_with_json(document)
    error = fetch_error(make_provider(httpserver), zone)
    assert error.reason == "no_data"
    assert not error.transient


def test_unconfigured_zone_is_rejected_without_a_request(httpserver):
    error = fetch_error(make_provider(httpserver), "GB-Nowhere")
    assert error.reason == "rejected"
    assert len(httpserver.log) == 0


# --- through the refresher -----------------------------------------------------------------


def test_refresher_stores_the_series_and_the_collector_exports_it(httpserver, intensity_text, intensity_json):
    httpserver.expect_request(NATIONAL_PATH).respond_with_data(intensity_text(NATIONAL))
    httpserver.expect_request(KT1_PATH).respond_with_data(intensity_text(KT1))
    httpserver.expect_request(REGION_14_PATH).respond_with_data("<html>busy</html>", status=503)
    provider = make_provider(httpserver)
    registry, store = CollectorRegistry(), GridStore()
    jobs = provider_jobs(provider)
    refresher = Refresher(jobs=jobs, store=store, derivation=Derivation(), instruments=GridInstruments(registry), backoff=Backoff(),
                          max_workers=2, clock=lambda: NOW)
    registry.register(GridCollector(store=store, staleness_limit_seconds=3 * 3600, forecast=ForecastSettings(),
                                    clock=lambda: NOW))
    try:
        refresher.run_due()
    finally:
        refresher.stop()
    assert [(job.zone, job.source, job.dataset, job.interval_seconds) for job in jobs] == [
        ("GB", "ukgrid", "intensity", 600), ("GB-KT1", "ukgrid", "intensity", 600), ("GB-SE", "ukgrid", "intensity", 600)]
    held = store.current()
    assert isinstance(held[("GB", "ukgrid", "intensity")].value, IntensitySeries)
    assert ("GB-SE", "ukgrid", "intensity") not in held

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    national_actual = intensity_json(NATIONAL)["data"][1]["intensity"]["actual"]
    kt1_forecast = intensity_json(KT1)["data"]["data"][1]["intensity"]["forecast"]
    assert sample(names.CARBON_INTENSITY, zone="GB", source="ukgrid", basis="provider") == national_actual
    assert sample(names.CARBON_INTENSITY, zone="GB-KT1", source="ukgrid", basis="provider") == kt1_forecast
    assert sample(f"{names.GRID_FETCH_ERRORS}_total", zone="GB-SE", source="ukgrid", reason="server_error") == 1
