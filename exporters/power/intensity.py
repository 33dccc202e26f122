"""Current carbon intensity per zone from the grid exporter's JSON API.

`GET {url}/api/v1/intensity?zone=Z` answers `{"zone": Z, "values": [{"source", "basis",
"timestamp", "grams_per_kwh", "forecast"}]}`, most preferred source first. The basis chosen is
`consumption` (imports traced), else `production`, else `provider`. 404 (unknown zone) and 503
(no current data) are normal answers with their own reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

BASIS_PREFERENCE = ("consumption", "production", "provider")


@dataclass(frozen=True)
class Intensity:
    zone: str
    grams_per_kwh: float
    source: str
    basis: str
    fetched_at: float


class IntensityError(Exception):
    """`reason`: unknown_zone, no_data, http_status, timeout, connection, malformed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def choose(payload: Mapping[str, Any], *, zone: str, fetched_at: float) -> Intensity:
    """The preferred value of an API answer (pure)."""
    values = payload.get("values") if isinstance(payload, Mapping) else None
    if not isinstance(values, list):
        raise IntensityError("malformed", f"intensity of {zone}: no `values` list in the answer")
    usable = [v for v in values if isinstance(v, Mapping) and v.get("basis") in BASIS_PREFERENCE
              and isinstance(v.get("grams_per_kwh"), (int, float)) and math.isfinite(v["grams_per_kwh"])
              and v["grams_per_kwh"] >= 0]
    if not usable:
        raise IntensityError("no_data", f"intensity of {zone}: no usable value in the answer")
    best = min(usable, key=lambda v: BASIS_PREFERENCE.index(v["basis"]))  # min is stable: source order kept
    return Intensity(zone=zone, grams_per_kwh=float(best["grams_per_kwh"]), source=str(best.get("source", "")),
                     basis=str(best["basis"]), fetched_at=fetched_at)


class IntensityClient:
    def __init__(self, *, url: str, timeout_seconds: float) -> None:
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._session = requests.Session()

    def fetch(self, zone: str, *, now: float) -> Intensity:
        try:
            response = self._session.get(f"{self.url}/api/v1/intensity", params={"zone": zone},
                                         timeout=self.timeout_seconds)
        except requests.Timeout:
            raise IntensityError("timeout", f"intensity of {zone}: no answer within {self.timeout_seconds:g} s") from None
        except requests.RequestException as error:
            raise IntensityError("connection", f"intensity of {zone}: {type(error).__name__}") from None
        if response.status_code != 200:
            reason = {404: "unknown_zone", 503: "no_data"}.get(response.status_code, "http_status")
            raise IntensityError(reason, f"intensity of {zone}: HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            raise IntensityError("malformed", f"intensity of {zone}: the answer is not JSON") from None
        return choose(payload, zone=zone, fetched_at=now)
