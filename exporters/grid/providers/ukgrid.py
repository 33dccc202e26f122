"""The GB Carbon Intensity API (National Grid ESO / NESO, api.carbonintensity.org.uk).

No token. Each zone is national or one region, and is fetched from the current half hour 48
hours forward, in half-hour periods:

- national (`UkGridZone()`): `GET {endpoint}/intensity/{from}/fw48h`, a list of periods with
  `intensity.forecast` and, once measured, `intensity.actual`. A period's value is the actual
  when present, else the forecast (and then the point is marked as a forecast).
- regional (`region_id: 1..17` or `postcode: KT1`):
  `GET {endpoint}/regional/intensity/{from}/fw48h/regionid/{id}` or `.../postcode/{postcode}`,
  `{"data": {"regionid", "dnoregion", "shortname", "data": [periods]}}`. Regions are forecast
  only, so every point is a forecast.

`from` is the current half hour as `YYYY-MM-DDTHH:MMZ`. The series' basis is `provider`: the
API's own (operational, not lifecycle) intensity. An error body `{"error": {"message"}}` is
surfaced in the FetchError message. Parsing (`parse_national`, `parse_regional`) is pure.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import requests

from gridshift.config import UkGridSettings, UkGridZone
from gridshift.exporters.grid.providers.http import JsonApi, Reader
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries, make_series
from gridshift.exporters.grid.errors import FetchError

NAME = "ukgrid"
UPSTREAM = "the GB Carbon Intensity API"
HALF_HOUR = 1800


class UkGridProvider:
    name = NAME

    def __init__(self, settings: UkGridSettings, session: requests.Session | None = None) -> None:
        self._settings = settings
        self.refresh_seconds = settings.refresh_seconds
        self._api = JsonApi(
            upstream=UPSTREAM, timeout_seconds=settings.timeout_seconds, session=session,
            unauthorized_hint="the API needs no token: check the endpoint and any proxy in between",
        )

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(self._settings.zones)

    def fetch(self, zone: str, now: float) -> IntensitySeries:
        region = self._settings.zones.get(zone)
        if region is None:
            raise FetchError("rejected", f"{zone} is not one of the configured UK zones ({', '.join(self.zones)})")
        url = request_url(self._settings.endpoint, region, now)
        document = self._api.get(url, what=f"intensity of {zone} ({describe(region)})")
        if is_national(region):
            return parse_national(document, zone)
        return parse_regional(document, zone)


def is_national(region: UkGridZone) -> bool:
    return not region.region_id and not region.postcode


def describe(region: UkGridZone) -> str:
    if region.postcode:
        return f"postcode {region.postcode}"
    return f"region {region.region_id}" if region.region_id else "national"


def half_hour(now: float) -> str:
    """The half hour containing `now`, as the API writes times: 2023-07-04T23:30Z."""
    start = int(now) // HALF_HOUR * HALF_HOUR
    return datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def request_url(endpoint: str, region: UkGridZone, now: float) -> str:
    base, start = endpoint.rstrip("/"), half_hour(now)
    if is_national(region):
        return f"{base}/intensity/{start}/fw48h"
    if region.postcode:
        return f"{base}/regional/intensity/{start}/fw48h/postcode/{quote(region.postcode.strip(), safe='')}"
    return f"{base}/regional/intensity/{start}/fw48h/regionid/{region.region_id}"


def parse_national(document: object, zone: str) -> IntensitySeries:
    """`{"data": [period, ...]}` -> the series; the actual of a period wins over its forecast."""
    reader = Reader(UPSTREAM, zone)
    periods = reader.items(reader.field(document, "data", ""), "data")
    return _series(reader, periods, "data")


def parse_regional(document: object, zone: str) -> IntensitySeries:
    """`{"data": {"regionid", ..., "data": [period, ...]}}` -> the series (all forecasts).

    The single-region list form `{"data": [{"regionid", ..., "data": [...]}]}` that the API's
    current-period regional endpoints use is accepted too.
    """
    reader = Reader(UPSTREAM, zone)
    region, path = reader.field(document, "data", ""), "data"
    if isinstance(region, list) and len(region) == 1:
        region, path = region[0], "data[0]"
    periods = reader.items(reader.field(reader.mapping(region, path), "data", path), f"{path}.data")
    return _series(reader, periods, f"{path}.data")


def _series(reader: Reader, periods: list[object], path: str) -> IntensitySeries:
    if not periods:
        raise FetchError("no_data", f"{UPSTREAM} has no intensity periods for {reader.zone} (empty `{path}`)")
    points = [_point(reader, period, f"{path}[{index}]") for index, period in enumerate(periods)]
    return make_series(zone=reader.zone, source=NAME, basis="provider", resolution_seconds=HALF_HOUR, points=points)


def _point(reader: Reader, period: object, path: str) -> IntensityPoint:
    start = reader.moment(reader.field(period, "from", path), f"{path}.from")
    end = reader.moment(reader.field(period, "to", path), f"{path}.to")
    if end <= start:
        raise reader.malformed(f"`{path}` ending at or before its start")
    seconds = None if end - start == HALF_HOUR else end - start
    intensity = reader.mapping(reader.field(period, "intensity", path), f"{path}.intensity")
    actual = intensity.get("actual")
    if actual is not None:
        return IntensityPoint(start, reader.intensity(actual, f"{path}.intensity.actual"), seconds=seconds)
    forecast = reader.field(intensity, "forecast", f"{path}.intensity")
    return IntensityPoint(start, reader.intensity(forecast, f"{path}.intensity.forecast"), forecast=True, seconds=seconds)
