"""One error vocabulary and one HTTP classifier for every upstream.

Aspects: status -> reason (parametrised, for ENTSO-E's 401-only refusal and the providers'
401/403); Retry-After in both RFC 9110 forms (delay-seconds; HTTP-date as IMF-fixdate and the
obsolete RFC 850 and asctime forms, counted from the answer's own Date header when present,
else from the caller's clock; a past date is 0; unreadable is None); the same classification
reached through the real transports (the ENTSO-E source against the local ENTSO-E, the
GB Carbon Intensity provider against a local server), each honouring an HTTP-date Retry-After.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime
from types import MappingProxyType

import pytest
from werkzeug import Response

from gridshift import names
from gridshift.config import UkGridSettings, UkGridZone
from gridshift.exporters.grid.errors import REASONS, FetchError, http_error, retry_after
from gridshift.exporters.grid.providers.ukgrid import UkGridProvider

NOW = datetime(2025, 10, 24, 12, 0, tzinfo=timezone.utc).timestamp()


def classify(status: int, headers: dict[str, str] | None = None, **kwargs: object) -> FetchError:
    return http_error(status, where=f"X answered HTTP {status}", refused="refused (check X_TOKEN)",
                      headers=headers or {}, now=NOW, **kwargs)


def test_the_vocabulary_is_the_metric_label_values_in_use():
    assert REASONS == ("no_data", "unauthorized", "rate_limited", "server_error", "client_error",
                       "timeout", "connection", "malformed", "rejected", "internal")
    with pytest.raises(AssertionError):
        FetchError("flaky", "not a reason")  # type: ignore[arg-type]
    assert not FetchError("no_data", "lag").transient
    assert all(FetchError(reason, "m").transient for reason in REASONS if reason != "no_data")


@pytest.mark.parametrize(("status", "reason"), [
    (400, "client_error"), (401, "unauthorized"), (403, "unauthorized"), (404, "client_error"),
    (409, "client_error"), (429, "rate_limited"), (500, "server_error"), (502, "server_error"),
    (503, "server_error"), (504, "server_error"), (0, "client_error"),
])
def test_status_to_reason(status, reason):
    assert classify(status).reason == reason


def test_an_upstream_that_refuses_tokens_with_401_only_calls_403_a_client_error():
    assert classify(403, refused_statuses=(401,)).reason == "client_error"
    assert classify(401, refused_statuses=(401,)).reason == "unauthorized"


def test_messages_start_with_where_and_say_what_to_check():
    assert classify(401).message == "X answered HTTP 401: refused (check X_TOKEN)"
    assert classify(429).message == "X answered HTTP 429: rate limited"
    assert classify(503).message == "X answered HTTP 503"
    assert classify(400, upstream_message="bad date range").message == "X answered HTTP 400: bad date range"
    assert classify(400).message == "X answered HTTP 400"


def test_retry_after_travels_with_429_and_5xx_only():
    headers = {"Retry-After": "120"}
    assert classify(429, headers).retry_after == 120.0
    assert classify(503, headers).retry_after == 120.0
    assert classify(400, headers).retry_after is None
    assert classify(401, headers).retry_after is None


def http_date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, timezone.utc), usegmt=True)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "120"}, 120.0),
    ({"retry-after": " 30 "}, 30.0),  # header names are case-insensitive
    ({"Retry-After": "0"}, 0.0),
    ({"Retry-After": "-5"}, 0.0),
    ({"Retry-After": "1.5"}, 1.5),
    ({"Retry-After": http_date(NOW + 600)}, 600.0),  # IMF-fixdate against our clock
    ({"Retry-After": http_date(NOW - 600)}, 0.0),  # a date already past: retry now
    # Counted from the answer's Date header: our clock being an hour behind changes nothing.
    ({"Retry-After": http_date(NOW + 4200), "Date": http_date(NOW + 3600)}, 600.0),
    ({"Retry-After": "Friday, 24-Oct-25 12:05:00 GMT"}, 300.0),  # RFC 850, obsolete but must be accepted
    ({"Retry-After": "Fri Oct 24 12:02:00 2025"}, 120.0),  # asctime, obsolete but must be accepted
    ({"Retry-After": http_date(NOW + 60), "Date": "not a date"}, 60.0),  # an unreadable Date: our clock
    ({}, None),
    ({"Retry-After": ""}, None),
    ({"Retry-After": "soon"}, None),
    ({"Retry-After": "inf"}, None),
    ({"Retry-After": "nan"}, None),
])
def test_retry_after_both_forms(headers, seconds):
    assert retry_after(headers, now=NOW) == seconds


# --- through the transports ----------------------------------------------------------------


def test_entsoe_honours_an_http_date_retry_after(make_exporter, fake_entsoe):
    running = make_exporter()
    sent = datetime.now(timezone.utc).timestamp()  # the answer's Date: real time, whatever the exporter's clock says
    fake_entsoe.failure = Response("Too many requests", 429,
                                   headers={"Retry-After": http_date(sent + 900), "Date": http_date(sent)})
    job = next(job for job in running.exporter.refresher.jobs if job.dataset == "generation")
    running.exporter.refresher.refresh(job)
    errors = running.value(f"{names.GRID_FETCH_ERRORS}_total", zone="FI", source="entsoe", reason="rate_limited")
    assert errors == 1
    assert job.next_due == pytest.approx(running.clock.now + 900, abs=1)  # not the 15 s..30 s first backoff


def test_entsoe_403_stays_a_client_error(make_exporter, fake_entsoe):
    running = make_exporter()
    fake_entsoe.failure = Response("Forbidden", 403)
    job = next(job for job in running.exporter.refresher.jobs if job.dataset == "generation")
    running.exporter.refresher.refresh(job)
    assert running.value(f"{names.GRID_FETCH_ERRORS}_total", zone="FI", source="entsoe", reason="client_error") == 1


def test_a_provider_reads_an_http_date_retry_after(httpserver):
    now = datetime(2023, 7, 5, 0, 10, tzinfo=timezone.utc).timestamp()
    sent = datetime.now(timezone.utc).timestamp()
    httpserver.expect_request("/intensity/2023-07-05T00:00Z/fw48h").respond_with_data(
        "busy", status=503, headers={"Retry-After": http_date(sent + 7200), "Date": http_date(sent)})
    settings = UkGridSettings(zones=MappingProxyType({"GB": UkGridZone()}), endpoint=httpserver.url_for("/").rstrip("/"),
                              timeout_seconds=2, refresh_seconds=600)
    with pytest.raises(FetchError) as caught:
        UkGridProvider(settings).fetch("GB", now)
    assert caught.value.reason == "server_error"
    assert caught.value.retry_after == pytest.approx(7200, abs=1)
