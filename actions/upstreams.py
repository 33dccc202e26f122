"""What the action service asks besides Kubernetes: Alertmanager's active alerts (API v2) and the
grid exporter's current intensities and forecasts (its JSON API). Both over requests, both optional."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone

import requests

from gridshift.actions.alerts import Alert, PayloadError, is_gridshift_alert, parse_alert
from gridshift.actions.planner import Forecast, forecast_from_points

log = logging.getLogger(__name__)


class UpstreamError(Exception):
    pass


class Alertmanager:
    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.session = requests.Session()

    def active_alerts(self) -> list[Alert]:
        """Every active gridshift alert (silenced and inhibited ones included: a silence is not a
        resolution). Alertmanager lists the whole cluster's: the others are skipped unread, so one
        long error message in another team's alert cannot fail the sync; gridshift's own are read
        whole, or the sync fails and the book is kept."""
        try:
            response = self.session.get(f"{self.url}/api/v2/alerts", params={"active": "true"}, timeout=self.timeout_seconds)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise UpstreamError(f"Alertmanager at {self.url}: {type(error).__name__}") from None
        if not isinstance(document, list):
            raise UpstreamError(f"Alertmanager at {self.url}: /api/v2/alerts did not answer a list")
        try:
            return [parse_alert(alert, f"alerts[{index}]") for index, alert in enumerate(document)
                    if is_gridshift_alert(alert)]
        except PayloadError as error:
            raise UpstreamError(f"Alertmanager at {self.url}: {error}") from None


class Intensities:
    """Current intensity per zone from `GET {exporter}/api/v1/intensity?zone=`."""

    PREFERENCE = ("consumption", "production", "provider")

    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.session = requests.Session()

    def current(self, zones: Iterable[str]) -> dict[str, float]:
        found = {}
        for zone in zones:
            try:
                response = self.session.get(f"{self.url}/api/v1/intensity", params={"zone": zone}, timeout=self.timeout_seconds)
                if response.status_code != 200:
                    continue  # unknown or stale zone: not a candidate
                values = response.json().get("values") or []
            except (requests.RequestException, ValueError, AttributeError) as error:
                log.warning("no intensity for %s from %s: %s", zone, self.url, type(error).__name__)
                continue
            ranked = sorted(values, key=lambda v: self.PREFERENCE.index(v.get("basis")) if v.get("basis") in self.PREFERENCE else 9)
            if ranked and isinstance(ranked[0].get("grams_per_kwh"), (int, float)):
                found[zone] = float(ranked[0]["grams_per_kwh"])
        return found

    def forecast(self, zone: str, now: float) -> Forecast | None:
        """The zone's forecast from `GET {exporter}/api/v1/forecast` (P50 `value`, and `p90` where
        gridshift's own forecaster gives it), as far ahead as it reaches; None when there is none."""
        deadline = datetime.fromtimestamp(now + FORECAST_AHEAD_SECONDS, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            response = self.session.get(f"{self.url}/api/v1/forecast", params={"zone": zone, "duration": "60",
                                        "deadline": deadline}, timeout=self.timeout_seconds)
            if response.status_code != 200:
                return None  # unknown zone, no current forecast, or none long enough
            document = response.json()
            rows = document[0]["forecastData"]
            source = str(document[0].get("source", ""))
            points = [(_epoch(row["timestamp"]), float(row["duration"]) * 60, float(row["value"]),
                       float(row["p90"]) if isinstance(row.get("p90"), int | float) else None) for row in rows]
        except (requests.RequestException, ValueError, LookupError, TypeError, AttributeError) as error:
            log.warning("no forecast for %s from %s: %s", zone, self.url, type(error).__name__)
            return None
        found = forecast_from_points(zone, source, points)
        return found if found.slots else None


FORECAST_AHEAD_SECONDS = 96 * 3600  # the longest window a plan looks at: 48 h of slack for a 48 h job


def _epoch(text: str) -> float:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
