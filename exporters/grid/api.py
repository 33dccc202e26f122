"""JSON API on the exporter, read from the zone views.

`/api/v1/intensity?zone=` gives the current intensity of a zone from every source and basis.
`/api/v1/forecast?zone=&duration=&deadline=` gives the greenest window to run a job of that
length before the deadline, in the shape of the Green Software Foundation carbon-aware SDK's
`/emissions/forecasts/current` (`optimalDataPoints`, `forecastData`, durations in minutes).
Bad parameters get a 400 with a JSON error, unknown zones a 404, a zone with no fresh data (or, configured,
none yet) a 503.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, jsonify, request

from gridshift.durations import DurationError, parse_duration
from gridshift.exporters.grid.forecast import greenest_window
from gridshift.exporters.grid.records import IntensitySeries
from gridshift.exporters.grid.forecasting.model import ForecastPoint
from gridshift.exporters.grid.snapshot import GridStore
from gridshift.exporters.grid.views import FORECASTER, forecast_median


class ApiError(Exception):
    def __init__(self, status: int, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail


def create_api(*, store: GridStore, staleness_limit_seconds: float, clock: Callable[[], float],
               configured_zones: frozenset[str] = frozenset()) -> Blueprint:
    """`configured_zones`: the zones some job fetches; one of them with no data yet is a 503, not unknown."""
    api = Blueprint("grid_api", __name__, url_prefix="/api/v1")

    def series_of(zone: str) -> tuple[IntensitySeries, ...]:
        """The zone's series, ranked by source preference and basis (as its view holds them)."""
        views = store.views()
        view = views.get(zone)
        found = view.series if view is not None else ()
        if not found and view is not None and view.forecast is not None:
            return ()  # only gridshift's own forecast so far: /forecast can answer from it
        if not found and zone in configured_zones:
            raise ApiError(503, f"no data held for {zone!r} yet: its fetches have not succeeded "
                           "(see gridshift_grid_fetch_errors_total and the exporter's log)")
        if not found:
            raise ApiError(404, f"unknown zone {zone!r}", zones=sorted(configured_zones | set(views)))
        return found

    def fresh(series: IntensitySeries, now: float) -> bool:
        current = series.current(now)
        return current is not None and now - current.start <= staleness_limit_seconds

    @api.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int]:
        return jsonify(error=error.message, **error.detail), error.status

    @api.get("/intensity")
    def intensity() -> Response:
        now = clock()
        zone = _required("zone")
        values = [_current(series, now) for series in series_of(zone) if fresh(series, now)]
        if not values:
            raise ApiError(503, f"no current intensity for {zone!r}: data is missing or older than the staleness limit")
        return jsonify(zone=zone, values=values)

    @api.get("/forecast")
    def forecast() -> Response:
        now = clock()
        zone = _required("zone")
        duration = _duration(_required("duration"))
        deadline = _deadline(request.args.get("deadline"), now)
        wanted = request.args.get("source")
        candidates = [s for s in series_of(zone) if fresh(s, now) and s.basis != "consumption"
                      and (wanted is None or s.source == wanted)]
        own = store.views()[zone].forecast if zone in store.views() else None
        bands: dict[int, ForecastPoint] = {}
        if own is not None and own.points and now - own.issued <= staleness_limit_seconds and (
                wanted == FORECASTER or (wanted is None and not own.fallback)):
            # gridshift's own forecast first (persistence only when asked for by name): windows on its P50
            candidates.insert(0, forecast_median(zone, own))
            bands = {p.start: p for p in own.points}
        if not candidates:
            raise ApiError(503, f"no current forecast for {zone!r}" + (f" from {wanted!r}" if wanted else ""))
        series = candidates[0]
        end = min(deadline, (series.newest_timestamp or now) + series.resolution_seconds)
        best = greenest_window(series, now=now, duration=duration, deadline=end)
        if best is None:
            raise ApiError(422, f"the {series.source} forecast for {zone!r} does not cover a {int(duration // 60)}-minute "
                           f"window before {_iso(end)}", forecast_ends=_iso(end))
        step_minutes = series.resolution_seconds / 60  # fractional for replays faster than a minute a step
        return jsonify([{
            "location": zone, "source": series.source, "generatedAt": _iso(now),
            "dataStartAt": _iso(now), "dataEndAt": _iso(end), "windowSize": int(duration // 60),
            "optimalDataPoints": [{"location": zone, "timestamp": _iso(best.start),
                                   "duration": int((best.end - best.start) // 60), "value": round(best.mean_grams_per_kwh, 3)}],
            "forecastData": [{"location": zone, "timestamp": _iso(p.start), "duration": _minutes(step_minutes),
                              "value": round(p.grams_per_kwh, 3), **_band(bands.get(p.start) if series.source == FORECASTER else None)}
                             for p in series.ahead(now, end - now)],
        }])

    return api


def _band(point: ForecastPoint | None) -> dict[str, float]:
    """The forecaster's P10 and P90 beside its P50 (`value`)."""
    return {} if point is None else {"p10": round(point.p10, 3), "p90": round(point.p90, 3)}


def _minutes(value: float) -> int | float:
    return int(value) if value == int(value) else round(value, 3)


def _current(series: IntensitySeries, now: float) -> dict[str, Any]:
    point = series.current(now)
    assert point is not None
    return {"source": series.source, "basis": series.basis, "timestamp": _iso(point.start),
            "grams_per_kwh": round(point.grams_per_kwh, 3), "forecast": point.forecast}


def _required(name: str) -> str:
    value = request.args.get(name, "").strip()
    if not value:
        raise ApiError(400, f"missing query parameter {name!r}")
    if len(value) > 64:
        raise ApiError(400, f"query parameter {name!r} is too long")
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text if not text.isdigit() else f"{text}m")  # plain numbers are minutes, as in the SDK
    except DurationError as error:
        raise ApiError(400, f"duration: {error}") from None


def _deadline(text: str | None, now: float) -> float:
    if not text:
        return now + 48 * 3600
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"deadline: not an ISO-8601 time: {text[:40]!r}") from None
    if moment.tzinfo is None:
        raise ApiError(400, "deadline: give a time zone (e.g. 2026-11-25T18:00Z)")
    if moment.timestamp() <= now:
        raise ApiError(400, "deadline: is in the past")
    return moment.timestamp()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
