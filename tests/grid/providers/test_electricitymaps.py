"""The Electricity Maps provider against a local API built from real Electricity Maps data.

The recorded API answers (data/electricitymaps) are single responses; the longer real data is
Electricity Maps' hourly CSV export for DE and US-CAL-CISO, June 2022 (data/README.md). The local
server (conftest.FakeElectricityMaps) therefore answers in the API's documented shapes with
values taken from those CSVs: `/carbon-intensity/latest` is row 372 (2022-06-16 12:00 UTC),
carbonIntensity = its "Carbon Intensity gCO₂eq/kWh (LCA)" and datetime = its "Datetime (UTC)";
`/carbon-intensity/forecast` is the next 24 rows the same way. The tests read the CSV files
with the csv module and assert the provider returns exactly those values at those hours. The
error bodies (401, 404 unknown zone) are constructed in the tests, not recorded.

Aspects: latest + forecast equal to the CSV rows (both zones), the auth-token header, the
actual winning over a forecast of its hour, the forecast's failure (latest alone, one warning,
recovery), the pure parse functions, every failure (401/403 naming ELECTRICITYMAPS_TOKEN,
404 unknown zone, 429 with Retry-After, 5xx, timeout, connection refused, malformed JSON,
wrong shape naming the missing field, negative and non-numeric intensities, null intensity,
empty forecast), no token in any message or log, and a run through the refresher and collector.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone

import pytest
from prometheus_client import CollectorRegistry
from werkzeug import Request, Response

from gridshift import names
from gridshift.config import Backoff, ElectricityMapsSettings, ForecastSettings
from gridshift.exporters.grid.collector import GridCollector
from gridshift.exporters.grid.instruments import GridInstruments
from gridshift.exporters.grid.providers import provider_jobs
from gridshift.exporters.grid.providers.electricitymaps import (
    ElectricityMapsProvider,
    parse_electricitymaps,
    parse_forecast,
    parse_latest,
)
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries
from gridshift.exporters.grid.refresher import Refresher
from gridshift.exporters.grid.errors import FetchError
from gridshift.secrets import Secret
from gridshift.exporters.grid.derive import Derivation
from gridshift.exporters.grid.snapshot import GridStore
from tests.grid.providers.conftest import EMAPS_TOKEN, emaps_forecast, emaps_latest, json_response

LOGGER = "gridshift.exporters.grid.providers.electricitymaps"


def make_provider(url: str, *, zones=("DE",), token: str = EMAPS_TOKEN, timeout: float = 2.0) -> ElectricityMapsProvider:
    settings = ElectricityMapsSettings(zones=tuple(zones), endpoint=url, timeout_seconds=timeout,
                                       refresh_seconds=900, token=Secret(token))
    return ElectricityMapsProvider(settings)


def fetch_error(provider: ElectricityMapsProvider, zone: str = "DE", token: str = EMAPS_TOKEN) -> FetchError:
    with pytest.raises(FetchError) as caught:
        provider.fetch(zone, time.time())
    error = caught.value
    assert token not in error.message and token not in str(error)
    return error


def now_in(row, minutes: int = 10) -> float:
    return row.start + minutes * 60


# --- values from the real CSV exports ------------------------------------------------------


def test_the_served_row_is_the_one_the_fixture_names(fake_emaps):
    row = fake_emaps.latest_row("DE")
    assert datetime.fromtimestamp(row.start, timezone.utc) == datetime(2022, 6, 16, 12, tzinfo=timezone.utc)
    assert [r.start - row.start for r in fake_emaps.forecast_rows("DE")] == [3600 * k for k in range(1, 25)]


@pytest.mark.parametrize("zone", ["DE", "US-CAL-CISO"])
def test_latest_and_forecast_are_the_csv_values(fake_emaps, zone):
    latest, forecast = fake_emaps.latest_row(zone), fake_emaps.forecast_rows(zone)
    series = make_provider(fake_emaps.url, zones=(zone,)).fetch(zone, now_in(latest))
    expected = [IntensityPoint(latest.start, latest.lca)]
    expected += [IntensityPoint(row.start, row.lca, forecast=True) for row in forecast]
    assert list(series.points) == expected
    assert (series.zone, series.source, series.basis, series.resolution_seconds) == (zone, "electricitymaps", "provider", 3600)
    assert series.current(now_in(latest)).grams_per_kwh == latest.lca
    assert series.at(latest.start + 5 * 3600 + 1).grams_per_kwh == forecast[4].lca


def test_requests_carry_the_token_header_and_the_zone(fake_emaps):
    make_provider(fake_emaps.url).fetch("DE", time.time())
    assert [(kind, args) for kind, args, _ in fake_emaps.requests] == [
        ("latest", {"zone": "DE"}), ("forecast", {"zone": "DE"})]
    assert all(headers.get("Auth-Token") == EMAPS_TOKEN for _, _, headers in fake_emaps.requests)


def test_the_actual_wins_over_the_forecast_of_its_hour(emaps_rows):
    rows = emaps_rows("DE")[100:103]
    forecast = emaps_forecast("DE", rows)
    forecast["forecast"][0]["carbonIntensity"] = rows[0].lca + 50  # derived: a forecast that missed
    series = parse_electricitymaps(emaps_latest("DE", rows[0]), forecast, "DE")
    assert list(series.points) == [IntensityPoint(rows[0].start, rows[0].lca)] + [
        IntensityPoint(row.start, row.lca, forecast=True) for row in rows[1:]]


def test_parse_functions_are_pure(emaps_rows):
    rows = emaps_rows("US-CAL-CISO")[500:525]
    assert parse_latest(emaps_latest("US-CAL-CISO", rows[0]), "US-CAL-CISO") == IntensityPoint(rows[0].start, rows[0].lca)
    assert parse_forecast(emaps_forecast("US-CAL-CISO", rows[1:]), "US-CAL-CISO") == [
        IntensityPoint(row.start, row.lca, forecast=True) for row in rows[1:]]
    alone = parse_electricitymaps(emaps_latest("US-CAL-CISO", rows[0]), None, "US-CAL-CISO")
    assert alone.points == (IntensityPoint(rows[0].start, rows[0].lca),)
    # The documented example answer of the API, as published.
    example = {"zone": "DE", "carbonIntensity": 302, "datetime": "2019-05-21T00:00:00.000Z",
               "updatedAt": "2019-05-21T00:00:00.000Z", "emissionFactorType": "lifecycle", "isEstimated": True,
               "estimationMethod": "TIME_SLICER_AVERAGE"}
    assert parse_latest(example, "DE") == IntensityPoint(int(datetime(2019, 5, 21, tzinfo=timezone.utc).timestamp()), 302.0)


# --- the forecast is optional --------------------------------------------------------------


def test_failing_forecast_returns_latest_alone_and_warns_once(fake_emaps, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    latest = fake_emaps.latest_row("DE")
    fake_emaps.failures["forecast"] = Response("<html>busy</html>", 503)
    provider = make_provider(fake_emaps.url)
    for _ in range(3):
        series = provider.fetch("DE", now_in(latest))
        assert series.points == (IntensityPoint(latest.start, latest.lca),)
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "HTTP 503" in warnings[0].getMessage() and "without a forecast" in warnings[0].getMessage()
    del fake_emaps.failures["forecast"]
    assert len(provider.fetch("DE", now_in(latest)).points) == 25
    assert any("available again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


@pytest.mark.parametrize("failure", [
    json_response({"message": "Your plan does not include forecasts"}, 403),  # the free tier has no forecast
    json_response({"zone": "DE", "forecast": [], "updatedAt": "2022-06-16T12:00:00.000Z"}),
    json_response({"zone": "DE", "forecast": [{"datetime": "2022-06-16T13:00:00.000Z"}]}),
    Response("{\"zone\": \"DE\", \"forec", 200),
])
def test_any_forecast_failure_keeps_the_latest(fake_emaps, failure):
    latest = fake_emaps.latest_row("DE")
    fake_emaps.failures["forecast"] = failure
    series = make_provider(fake_emaps.url).fetch("DE", now_in(latest))
    assert series.points == (IntensityPoint(latest.start, latest.lca),)


def test_failing_latest_fails_the_fetch_without_asking_for_the_forecast(fake_emaps):
    fake_emaps.failures["latest"] = Response("<html>busy</html>", 502)
    error = fetch_error(make_provider(fake_emaps.url))
    assert error.reason == "server_error"
    assert [kind for kind, _, _ in fake_emaps.requests] == ["latest"]


# --- failures ------------------------------------------------------------------------------


def test_wrong_token_is_unauthorized_and_never_shown(fake_emaps, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-emaps-token-31f0aa"
    error = fetch_error(make_provider(fake_emaps.url, token=wrong), token=wrong)
    assert error.reason == "unauthorized"
    assert "ELECTRICITYMAPS_TOKEN" in error.message
    assert not any(wrong in r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))


def test_forbidden_is_unauthorized(fake_emaps):
    fake_emaps.failures["latest"] = json_response({"message": "Request unauthorized for zone DE"}, 403)
    error = fetch_error(make_provider(fake_emaps.url))
    assert error.reason == "unauthorized" and "ELECTRICITYMAPS_TOKEN" in error.message


def test_unknown_zone_is_rejected(fake_emaps):
    error = fetch_error(make_provider(fake_emaps.url, zones=("XX",)), zone="XX")
    assert error.reason == "rejected"
    assert "zone XX" in error.message and "does not exist" in error.message


def test_404_without_a_zone_message_is_a_client_error(fake_emaps):
    fake_emaps.failures["latest"] = Response("<html>Not Found</html>", 404, content_type="text/html")
    assert fetch_error(make_provider(fake_emaps.url)).reason == "client_error"


def test_an_error_body_echoing_the_token_is_redacted(fake_emaps):
    fake_emaps.failures["latest"] = json_response({"message": f"bad request with token {EMAPS_TOKEN}"}, 400)
    error = fetch_error(make_provider(fake_emaps.url))
    assert error.reason == "client_error" and "bad request with token ***" in error.message


def test_rate_limit_carries_retry_after(fake_emaps):
    fake_emaps.failures["latest"] = json_response({"message": "Too many requests"}, 429, **{"Retry-After": "90"})
    error = fetch_error(make_provider(fake_emaps.url))
    assert (error.reason, error.retry_after) == ("rate_limited", 90.0)


@pytest.mark.parametrize("status", [500, 503, 504])
def test_server_errors(fake_emaps, status):
    fake_emaps.failures["latest"] = Response("<html>oops</html>", status)
    assert fetch_error(make_provider(fake_emaps.url)).reason == "server_error"


def test_timeout(httpserver, fake_emaps):
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return fake_emaps.handle(request)

    httpserver.clear()
    httpserver.expect_request("/v3/carbon-intensity/latest").respond_with_handler(slow)
    assert fetch_error(make_provider(fake_emaps.url, timeout=0.3)).reason == "timeout"


def test_connection_refused(closed_port):
    error = fetch_error(make_provider(f"http://127.0.0.1:{closed_port}/v3"))
    assert error.reason == "connection"


@pytest.mark.parametrize("body", ["", "<html>ok</html>", "{\"zone\": \"DE\", \"carbonInt"])
def test_malformed_json(fake_emaps, body):
    fake_emaps.bodies["latest"] = body
    error = fetch_error(make_provider(fake_emaps.url))
    assert error.reason == "malformed" and "not JSON" in error.message


@pytest.mark.parametrize(("field", "named"), [("carbonIntensity", "`carbonIntensity` missing"),
                                              ("datetime", "`datetime` missing")])
def test_wrong_shape_names_the_missing_field(fake_emaps, field, named):
    document = emaps_latest("DE", fake_emaps.latest_row("DE"))
    del document[field]
    fake_emaps.bodies["latest"] = json.dumps(document)
    error = fetch_error(make_provider(fake_emaps.url))
    assert error.reason == "malformed" and named in error.message


def test_a_list_instead_of_an_object_is_malformed(fake_emaps):
    fake_emaps.bodies["latest"] = json.dumps([emaps_latest("DE", fake_emaps.latest_row("DE"))])
    assert fetch_error(make_provider(fake_emaps.url)).reason == "malformed"


@pytest.mark.parametrize(("value", "problem"), [(-1.5, "negative"), ("302", "not a number"), (True, "not a number")])
def test_bad_intensity_is_malformed(fake_emaps, value, problem):
    document = emaps_latest("DE", fake_emaps.latest_row("DE"))
    document["carbonIntensity"] = value
    fake_emaps.bodies["latest"] = json.dumps(document)
    error = fetch_error(make_provider(fake_emaps.url))
    assert error.reason == "malformed" and problem in error.message and "carbonIntensity" in error.message


def test_bad_forecast_value_is_named_by_parse(emaps_rows):
    forecast = emaps_forecast("DE", emaps_rows("DE")[10:14])
    forecast["forecast"][2]["carbonIntensity"] = -7
    with pytest.raises(FetchError) as caught:
        parse_forecast(forecast, "DE")
    assert caught.value.reason == "malformed" and "`forecast[2].carbonIntensity` = -7" in caught.value.message


def test_null_intensity_is_no_data(fake_emaps):
    document = emaps_latest("DE", fake_emaps.latest_row("DE"))
    document["carbonIntensity"] = None
    fake_emaps.bodies["latest"] = json.dumps(document)
    error = fetch_error(make_provider(fake_emaps.url))
    assert error.reason == "no_data"


def test_token_never_logged_even_at_debug(fake_emaps, caplog):
    caplog.set_level(logging.DEBUG)
    provider = make_provider(fake_emaps.url)
    provider.fetch("DE", time.time())
    fake_emaps.failures["forecast"] = Response("nope", 500)
    provider.fetch("DE", time.time())
    fetch_error(make_provider(fake_emaps.url, zones=("XX",)), zone="XX")
    messages = [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]
    assert messages  # urllib3 and the provider did log
    assert not any(EMAPS_TOKEN in message for message in messages)


# --- through the refresher -----------------------------------------------------------------


def test_refresher_stores_the_series_and_the_collector_exports_it(fake_emaps):
    latest, forecast = fake_emaps.latest_row("DE"), fake_emaps.forecast_rows("DE")
    now = now_in(latest)
    provider = make_provider(fake_emaps.url, zones=("DE", "XX"))
    registry, store = CollectorRegistry(), GridStore()
    jobs = provider_jobs(provider)
    refresher = Refresher(jobs=jobs, store=store, derivation=Derivation(), instruments=GridInstruments(registry), backoff=Backoff(),
                          max_workers=2, clock=lambda: now)
    registry.register(GridCollector(store=store, staleness_limit_seconds=3 * 3600, forecast=ForecastSettings(),
                                    clock=lambda: now))
    try:
        refresher.run_due()
    finally:
        refresher.stop()
    assert [(job.zone, job.source, job.dataset, job.interval_seconds) for job in jobs] == [
        ("DE", "electricitymaps", "intensity", 900), ("XX", "electricitymaps", "intensity", 900)]
    assert isinstance(store.current()[("DE", "electricitymaps", "intensity")].value, IntensitySeries)

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample(names.CARBON_INTENSITY, zone="DE", source="electricitymaps", basis="provider") == latest.lca
    assert sample(names.CARBON_INTENSITY_FORECAST, zone="DE", source="electricitymaps", horizon="1h") == forecast[0].lca
    assert sample(names.CARBON_INTENSITY_FORECAST, zone="DE", source="electricitymaps", horizon="24h") == forecast[23].lca
    assert sample(f"{names.GRID_FETCH_ERRORS}_total", zone="XX", source="electricitymaps", reason="rejected") == 1
