"""How every upstream fails: one reason vocabulary, one HTTP status classifier, Retry-After.

`FetchError` is what a source or provider raises on any failure. Its `reason` is the `reason`
label of gridshift_grid_fetch_errors_total, so the vocabulary is fixed here and nowhere else:

    no_data       the upstream has nothing for the period yet (ENTSO-E's normal publication lag)
    unauthorized  the request was refused (401, and 403 where the upstream means a token by it)
    rate_limited  429
    server_error  5xx
    client_error  any other 4xx
    timeout       no answer in time
    connection    the upstream could not be reached
    malformed     an answer that cannot be read, or not of the kind asked for
    rejected      the upstream (or our configuration) refuses this request as asked
    internal      a bug in the exporter while refreshing, logged with its traceback

`http_error` turns a status into a FetchError the same way for ENTSO-E and the JSON providers;
each caller says how its messages start and what to check when refused, so the logs name the
upstream. Pure: no HTTP client is imported here.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Literal, get_args

from gridshift.exporters.grid.parse import NoDataAcknowledgement, ParseError, RejectedRequest

Reason = Literal[
    "no_data", "unauthorized", "rate_limited", "server_error", "client_error",
    "timeout", "connection", "malformed", "rejected", "internal",
]
REASONS: tuple[Reason, ...] = get_args(Reason)


class FetchError(Exception):
    """A failed upstream fetch, classified for the error counter and the backoff.

    `message` is safe to log: secrets are redacted before it is built.
    """

    REASONS = REASONS

    def __init__(self, reason: Reason, message: str, *, retry_after: float | None = None) -> None:
        assert reason in REASONS, reason
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth retrying soon with backoff; `no_data` is ENTSO-E's normal publication lag."""
        return self.reason != "no_data"


REFUSED_STATUSES = frozenset({401, 403})


def http_error(status: int, *, where: str, refused: str, headers: Mapping[str, str], now: float,
               upstream_message: str | None = None,
               refused_statuses: Collection[int] = REFUSED_STATUSES) -> FetchError:
    """The FetchError for an HTTP error status.

    `where` starts every message ("ENTSO-E answered HTTP 503 to the load request for FI");
    `refused` follows it for a refused request ("the API token was refused (check ...)");
    `upstream_message` (already shortened and redacted) is kept for other 4xx answers. 429 and
    5xx carry the Retry-After delay, `now` being the caller's clock for the HTTP-date form.
    """
    if status in refused_statuses:
        return FetchError("unauthorized", f"{where}: {refused}")
    if status == 429:
        return FetchError("rate_limited", f"{where}: rate limited", retry_after=retry_after(headers, now=now))
    if status >= 500:
        return FetchError("server_error", where, retry_after=retry_after(headers, now=now))
    return FetchError("client_error", f"{where}: {upstream_message}" if upstream_message else where)


def retry_after(headers: Mapping[str, str], *, now: float) -> float | None:
    """Retry-After in seconds from now (RFC 9110 §10.2.3), or None when absent or unreadable.

    Both forms: delay-seconds ("120"; a decimal or negative number is read leniently, a
    negative one as 0) and HTTP-date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" and the two
    obsolete forms recipients must accept). A date is counted from the answer's own `Date`
    header when it has one, so a skewed local clock does not stretch or cut the wait; else
    from `now`. A date in the past is 0.
    """
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    moment = http_date(value)
    if moment is None:
        return None
    sent = http_date(_header(headers, "Date") or "")
    return max(0.0, moment - (sent if sent is not None else now))


def http_date(text: str) -> float | None:
    """An HTTP-date as epoch seconds (always UTC, RFC 9110 §5.6.7); None if it is not one."""
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # the asctime form carries no zone: HTTP-dates are GMT
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (requests' headers are; a plain dict is not)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    value = value.strip() if value is not None else None
    return value or None


@contextmanager
def as_fetch_errors(what: str) -> Iterator[None]:
    """Reading an ENTSO-E answer about `what`: its acknowledgements and unreadable payloads as the
    FetchError the refresher and the backfill count (no_data, rejected, malformed)."""
    try:
        yield
    except NoDataAcknowledgement as ack:
        raise FetchError("no_data", f"ENTSO-E has no {what}: {ack}") from None
    except RejectedRequest as rejected:
        raise FetchError("rejected", f"ENTSO-E rejected the request for {what}: {rejected}") from None
    except ParseError as error:
        raise FetchError("malformed", f"unreadable payload for {what}: {error}") from None
