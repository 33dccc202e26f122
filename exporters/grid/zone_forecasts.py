"""gridshift's own forecast of each zone (source `forecaster`): one refresh job per zone.

Every `issue_seconds` the job re-issues the zone's forecast from the newest history. The model
under it is fitted at the first issue of every UTC hour and serves that hour only: it learns from
past forecasts issued at its own hour of day (Settings.issue_stride_hours = 24), which the
benchmark measured to matter (docs/benchmarks.md: training issues at every hour of day instead
cost 0.35 points of day-1 MAPE), and a fit takes one to two seconds a zone. While the zone has
too little history for a model it is refitted at every issue (the fallback is persistence,
flagged in the forecast and in a metric). What the job returns is held
like any fetched input, and the derive step puts it in the zone's view, so the collector and the
JSON API read it as they read everything else. A failure is a FetchError("internal"): the
refresher backs off, and no forecast older than the staleness limit is published.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.forecasting.model import Fuel, History, Model, Settings, fit
from gridshift.exporters.grid.forecasting.model import Forecast as Forecast
from gridshift.exporters.grid.jobs import Job
from gridshift.exporters.grid.snapshot import forecast_key

log = logging.getLogger(__name__)
HOUR = 3600


class ZoneHistory(Protocol):
    """What a forecast is made from: a zone's hourly intensity before `now` (with its production
    mix where known), and the TSO's day-ahead forecasts past and ahead where published."""

    def history(self, zone: str, now: float) -> History: ...

    def fuel(self, zone: str, now: float) -> Fuel | None: ...


@dataclass(frozen=True)
class Fitted:
    model: Model
    at: float
    seconds: float  # how long the fit took (logged; benchmarks measure it)


class ZoneForecaster:
    def __init__(self, *, history: ZoneHistory, hours: int = 48, settings: Settings | None = None,
                 fitter: Callable[..., Model] = fit) -> None:
        self.history = history
        self.hours = hours
        self.settings = settings or Settings()
        self._fit = fitter
        self._fitted: dict[str, Fitted] = {}
        self._lock = threading.Lock()  # jobs of different zones run in parallel; each zone's runs do not

    def fitted(self, zone: str) -> Fitted | None:
        with self._lock:
            return self._fitted.get(zone)

    def issue(self, zone: str, now: float) -> Forecast:
        history = self.history.history(zone, now)
        fuel = self.history.fuel(zone, now)
        try:
            model = self._model(zone, now, history, fuel)
            forecast = model.predict(now=now, hours=self.hours, history=history, fuel=fuel)
        except Exception as error:  # a model bug must not stop the exporter: no forecast, an error counted
            log.exception("forecaster: %s failed", zone)
            raise FetchError("internal", f"forecaster for {zone} failed: {type(error).__name__}: {error}") from error
        if not forecast.points:
            raise FetchError("no_data", f"forecaster for {zone}: {forecast.reason}")
        return forecast

    def _model(self, zone: str, now: float, history: History, fuel: Fuel | None) -> Model:
        current = self.fitted(zone)
        if current is not None and not current.model.fallback and int(now) // HOUR == int(current.at) // HOUR:
            return current.model
        started = time.perf_counter()
        model = self._fit(history=history, now=now, fuel=fuel, settings=self.settings)
        fitted = Fitted(model, now, time.perf_counter() - started)
        with self._lock:
            self._fitted[zone] = fitted
        _return_freed_memory()
        if model.fallback:
            log.info("forecaster: %s falls back to persistence: %s", zone, model.fallback_reason)
        else:
            log.info("forecaster: %s fitted in %.1f s (%d training rows, %d bytes held)", zone, fitted.seconds,
                     model.training_rows, model.size_bytes)
        return model

    def jobs(self, zones: Iterable[str], *, issue_seconds: float = 3600.0) -> list[Job[Forecast]]:
        return [Job(forecast_key(zone), issue_seconds, lambda now, zone=zone: self.issue(zone, now)) for zone in zones]


def _libc_trim() -> Callable[[], None]:
    """glibc's malloc_trim, or a no-op elsewhere (musl, macOS)."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


# A fit's matrices leave freed but unreturned heap behind in glibc's arenas; handing it back after
# each fit keeps the exporter's resident memory at what it holds (benchmarks.forecaster_exporter:
# 6 MiB less for 40 zones).
_return_freed_memory = _libc_trim()
