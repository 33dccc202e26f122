"""The Electricity Maps API (v3): the zone's latest carbon intensity and its forecast.

Per zone and refresh, two requests with the header `auth-token` (ELECTRICITYMAPS_TOKEN):

- `GET {endpoint}/carbon-intensity/latest?zone=Z`:
  `{"zone", "carbonIntensity", "datetime", "updatedAt", "emissionFactorType", "isEstimated", ...}`,
  the current hour (an estimated value counts as an actual: it is not a forecast);
- `GET {endpoint}/carbon-intensity/forecast?zone=Z`:
  `{"zone", "forecast": [{"carbonIntensity", "datetime"}, ...], "updatedAt"}`, hourly.

Resolution one hour, basis `provider` (Electricity Maps' lifecycle figures by default).

Decided: the latest value is required, the forecast is not. A failed latest request fails the
fetch (counted by the refresher with its reason). A failed forecast request (the free tier
has no forecast; or an outage) still returns the latest point alone: it is logged once at
warning when the forecast starts failing for a zone and at debug while it keeps failing, and
at info when it is back. Such a forecast failure is not counted in
gridshift_grid_fetch_errors_total, as the fetch itself succeeded.

Errors: 401/403 unauthorized (naming ELECTRICITYMAPS_TOKEN, never its value); 404 whose error
message names a zone -> rejected (the zone is unknown to Electricity Maps or not in the plan);
`carbonIntensity: null` in the latest answer -> no_data. The token travels only in the header,
is redacted from every message, and is registered with redact_library_logs. Parsing
(`parse_latest`, `parse_forecast`, `parse_electricitymaps`) is pure.
"""

from __future__ import annotations

import logging
import threading

import requests

from gridshift.config import ElectricityMapsSettings
from gridshift.exporters.grid.providers.http import JsonApi, Reader
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries, make_series
from gridshift.exporters.grid.errors import FetchError
from gridshift.secrets import ELECTRICITYMAPS_TOKEN, Secret, redact_library_logs

log = logging.getLogger(__name__)

NAME = "electricitymaps"
UPSTREAM = "Electricity Maps"
HOUR = 3600


class ElectricityMapsProvider:
    name = NAME

    def __init__(self, settings: ElectricityMapsSettings, session: requests.Session | None = None) -> None:
        self._settings = settings
        self.refresh_seconds = settings.refresh_seconds
        token = settings.token or Secret()
        redact_library_logs(token)
        self._api = JsonApi(
            upstream=UPSTREAM, timeout_seconds=settings.timeout_seconds, session=session,
            secret=token, secret_header="auth-token",
            unauthorized_hint=f"check {ELECTRICITYMAPS_TOKEN} or {ELECTRICITYMAPS_TOKEN}_FILE, and that the "
                              "token's plan covers this zone and endpoint",
        )
        self._forecast_failing: set[str] = set()
        self._lock = threading.Lock()

    @property
    def zones(self) -> tuple[str, ...]:
        return self._settings.zones

    def fetch(self, zone: str, now: float) -> IntensitySeries:
        latest = parse_latest(self._get("latest", zone), zone)
        return _series([*self._forecast(zone), latest], zone)

    def _forecast(self, zone: str) -> list[IntensityPoint]:
        try:
            points = parse_forecast(self._get("forecast", zone), zone)
        except FetchError as error:
            self._forecast_failed(zone, error)
            return []
        self._forecast_ok(zone)
        return points

    def _get(self, kind: str, zone: str) -> object:
        url = f"{self._settings.endpoint.rstrip('/')}/carbon-intensity/{kind}"
        return self._api.get(url, what=f"{kind} carbon intensity of {zone}", params={"zone": zone},
                             rule=lambda status, message: unknown_zone(status, message, zone))

    def _forecast_failed(self, zone: str, error: FetchError) -> None:
        with self._lock:
            first = zone not in self._forecast_failing
            self._forecast_failing.add(zone)
        level = logging.WARNING if first else logging.DEBUG
        log.log(level, "%s (reason=%s); publishing the latest value of %s without a forecast",
                error.message, error.reason, zone)

    def _forecast_ok(self, zone: str) -> None:
        with self._lock:
            recovered = zone in self._forecast_failing
            self._forecast_failing.discard(zone)
        if recovered:
            log.info("the Electricity Maps forecast of %s is available again", zone)


def unknown_zone(status: int, message: str | None, zone: str) -> FetchError | None:
    """A 404 whose error message is about the zone: Electricity Maps does not serve it."""
    if status == 404 and message and "zone" in message.lower():
        return FetchError("rejected", f"{UPSTREAM} does not serve zone {zone} (HTTP 404: {message}); "
                                      "check the zone key in grid.electricitymaps.zones")
    return None


def parse_latest(document: object, zone: str) -> IntensityPoint:
    """The latest answer -> one actual point (`carbonIntensity: null` is no data yet)."""
    reader = Reader(UPSTREAM, zone)
    value = reader.field(document, "carbonIntensity", "")
    if value is None:
        raise FetchError("no_data", f"{UPSTREAM} has no latest carbon intensity for {zone} (carbonIntensity is null)")
    start = reader.moment(reader.field(document, "datetime", ""), "datetime")
    return IntensityPoint(start, reader.intensity(value, "carbonIntensity"))


def parse_forecast(document: object, zone: str) -> list[IntensityPoint]:
    """The forecast answer -> forecast points; an empty forecast is no data."""
    reader = Reader(UPSTREAM, zone)
    entries = reader.items(reader.field(document, "forecast", ""), "forecast")
    if not entries:
        raise FetchError("no_data", f"{UPSTREAM} has no forecast for {zone} (empty `forecast`)")
    return [_forecast_point(reader, entry, f"forecast[{index}]") for index, entry in enumerate(entries)]


def _forecast_point(reader: Reader, entry: object, path: str) -> IntensityPoint:
    start = reader.moment(reader.field(entry, "datetime", path), f"{path}.datetime")
    value = reader.intensity(reader.field(entry, "carbonIntensity", path), f"{path}.carbonIntensity")
    return IntensityPoint(start, value, forecast=True)


def parse_electricitymaps(latest: object, forecast: object | None, zone: str) -> IntensitySeries:
    """Latest (required) and forecast (optional) answers -> the series."""
    points = parse_forecast(forecast, zone) if forecast is not None else []
    return _series([*points, parse_latest(latest, zone)], zone)


def _series(points: list[IntensityPoint], zone: str) -> IntensitySeries:
    """Forecast points first: make_series keeps the later entry, so the actual wins over its hour's forecast."""
    return make_series(zone=zone, source=NAME, basis="provider", resolution_seconds=HOUR, points=points)
