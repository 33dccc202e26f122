"""ENTSO-E Transparency Platform transport through entsoe-py's raw client.

entsoe-py builds the requests (document and process types, area codes, UTC periods) and
recognises the "No matching data found" acknowledgement. We add what a long-running exporter
needs on top: one request per call (our refresher owns retries and backoff), a configurable
endpoint, and errors that never carry the API token (entsoe-py logs the request parameters,
token included, at debug level, and requests puts the full URL in HTTP error messages).

Every request is admitted first by the exporter's one RequestPacer for ENTSO-E (pacing.py): at
most its limit in any minute, none during a ban; a request it does not admit in time is
FetchError("rate_limited") and is not sent. An answer that names a ban ("Requester banned until
...", whatever its status) or any 429 bans the pacer, so every other request waits it out too.
A per-query cap (ENTSO-E's reason-999 "exceeds the allowed limit") is QueryTooLarge, for the
caller to split (splitting.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

import entsoe.entsoe as entsoe_module
import pandas as pd
import requests
from entsoe import EntsoeRawClient
from entsoe.exceptions import InvalidBusinessParameterError, InvalidPSRTypeError, NoMatchingDataError, PaginationError

from gridshift.exporters.grid.errors import FetchError, http_error, retry_after
from gridshift.exporters.grid.pacing import WINDOW_SECONDS, RequestPacer, ban_end, ban_notice
from gridshift.exporters.grid.parse import QueryTooLarge, query_too_large, read_acknowledgement
from gridshift.exporters.grid.sources.bounded import AnswerTooLarge, BoundedSession
from gridshift.secrets import Secret, redact, redact_library_logs

QUERIES = {
    "generation": "query_generation",
    "load": "query_load",
    "generation_forecast": "query_generation_forecast",
    "wind_solar_forecast": "query_wind_and_solar_forecast",
    "load_forecast": "query_load_forecast",
}
IMPORTS = "imports"  # physical cross-border flow into `zone` from `neighbour` (A11)


class EntsoeSource:
    """Fetches one dataset for one zone and period; returns the XML text."""

    name = "entsoe"

    def __init__(self, *, api_key: Secret, endpoint: str, timeout_seconds: float,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.time,
                 pacer: RequestPacer | None = None, admit_seconds: float = WINDOW_SECONDS) -> None:
        self._api_key = api_key
        self._clock = clock  # for a Retry-After given as an HTTP-date
        # Unpaced only where a test builds a source alone; the exporter passes its one pacer.
        self.pacer = pacer or RequestPacer(10**6, clock=clock)
        self._admit_seconds = admit_seconds  # a minute: a full minute frees a slot; a ban is refused at once
        redact_library_logs(api_key)
        # entsoe-py reads its endpoint from a module global at request time; every zone of
        # this process talks to the same endpoint, so setting it once here is enough.
        entsoe_module.URL = endpoint
        self._timeout = timeout_seconds
        self._session = session
        self._local = threading.local()  # requests.Session is not promised thread-safe: one per worker

    def _client(self) -> EntsoeRawClient:
        key = self._api_key.value  # read at each request: a rotated token file is used from the next one on
        client = getattr(self._local, "client", None)
        if client is None:
            client = EntsoeRawClient(
                api_key=key, session=self._session or BoundedSession(),
                retry_count=1, retry_delay=0, timeout=self._timeout,
            )
            self._local.client = client
        elif client.api_key != key:
            client.api_key = key
        return client

    def fetch(self, *, dataset: str, zone: str, start: datetime, end: datetime, neighbour: str | None = None) -> str:
        """The XML text of one request; raises FetchError, or QueryTooLarge over a per-query cap."""
        self.pacer.admit(self._admit_seconds, f"the ENTSO-E {dataset} request for {zone}")
        try:
            return self._send(dataset=dataset, zone=zone, start=start, end=end, neighbour=neighbour)
        except FetchError as error:
            until = ban_end(error, self._clock())
            if until is not None:
                self.pacer.ban(until)
            raise

    def _send(self, *, dataset: str, zone: str, start: datetime, end: datetime, neighbour: str | None) -> str:
        try:
            if dataset == IMPORTS:
                return str(self._client().query_crossborder_flows(
                    country_code_from=neighbour, country_code_to=zone, start=_timestamp(start), end=_timestamp(end)))
            query = getattr(self._client(), QUERIES[dataset])
            return str(query(zone, start=_timestamp(start), end=_timestamp(end)))
        except NoMatchingDataError:
            raise FetchError("no_data", f"ENTSO-E has no {dataset} data for {zone} yet") from None
        except PaginationError as error:  # entsoe-py's name for the cap it recognises in an HTTP error
            raise query_too_large(f"{dataset} of {zone}: {error}") from None
        except (InvalidBusinessParameterError, InvalidPSRTypeError) as error:
            raise FetchError("rejected", f"ENTSO-E rejected the {dataset} request for {zone}: {type(error).__name__}") from None
        except requests.HTTPError as error:
            raise self._http_error(error, dataset, zone) from None
        except AnswerTooLarge as error:
            raise FetchError("malformed", f"ENTSO-E's answer to the {dataset} request for {zone} was not read: {error}") from None
        except requests.Timeout:
            raise FetchError("timeout", f"ENTSO-E did not answer the {dataset} request for {zone} in time") from None
        except requests.ConnectionError as error:
            message = redact(f"cannot reach ENTSO-E for {dataset} of {zone}: {type(error).__name__}", self._api_key)
            raise FetchError("connection", message) from None

    def _http_error(self, error: requests.HTTPError, dataset: str, zone: str) -> FetchError | QueryTooLarge:
        response = error.response
        status = response.status_code if response is not None else 0
        body = response.text if response is not None else ""
        headers = response.headers if response is not None else {}
        where = f"ENTSO-E answered HTTP {status} to the {dataset} request for {zone}"
        banned = ban_notice(body)
        if banned is not None:
            return FetchError("rate_limited", f"{where}: {banned}", retry_after=retry_after(headers, now=self._clock()))
        acknowledgement = read_acknowledgement(body)
        if isinstance(acknowledgement, QueryTooLarge):
            return acknowledgement
        return http_error(
            status, where=where,
            refused="the API token was refused (check ENTSOE_API_KEY or ENTSOE_API_KEY_FILE)",
            refused_statuses=(401,),  # ENTSO-E refuses a token with 401; anything else is the request's fault
            headers=headers, now=self._clock(),
        )


def _timestamp(moment: datetime) -> pd.Timestamp:
    return pd.Timestamp(moment.astimezone(timezone.utc))
