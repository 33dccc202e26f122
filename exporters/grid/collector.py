"""Zone views -> metric families, built fresh at each scrape. Never fetches.

Absent beats wrong: a value older than the staleness limit is not exported (so no alert acts
on it), but `gridshift_grid_data_timestamp_seconds` stays, so the gap explains itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gridshift import names
from gridshift.config import ForecastSettings, ZoneThresholds
from gridshift.durations import format_duration
from gridshift.exporters.grid.backfill import BackfillStatus
from gridshift.exporters.grid.forecast import greenest_window, quantile
from gridshift.exporters.grid.production_types import production_type_name
from gridshift.exporters.grid.records import IntensitySeries
from gridshift.exporters.grid.snapshot import GridStore
from gridshift.exporters.grid.views import FORECASTER, QUANTILES, ZoneView, forecast_median


def _gauge(name: str, documentation: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


@dataclass
class _Families:
    generation: GaugeMetricFamily
    load: GaugeMetricFamily
    renewable: GaugeMetricFamily
    timestamps: GaugeMetricFamily
    intensity: GaugeMetricFamily
    forecast: GaugeMetricFamily
    forecast_quantile: GaugeMetricFamily
    best_window_start: GaugeMetricFamily
    best_window_mean: GaugeMetricFamily
    threshold: GaugeMetricFamily
    forecast_band: GaugeMetricFamily
    forecaster_fallback: GaugeMetricFamily
    forecaster_issued: GaugeMetricFamily
    backfill_days: GaugeMetricFamily
    backfill_errors: CounterMetricFamily

    @classmethod
    def empty(cls) -> _Families:
        zone, source = names.ZONE, names.SOURCE
        return cls(
            generation=_gauge(names.GENERATION_WATTS, "Actual generation per production type in the newest complete "
                              "interval, in watts.", zone, names.PSR_TYPE, names.PRODUCTION_TYPE),
            load=_gauge(names.LOAD_WATTS, "Actual total load, in watts.", zone),
            renewable=_gauge(names.RENEWABLE_SHARE_RATIO, "Renewable generation / total generation (0..1).", zone),
            timestamps=_gauge(names.GRID_DATA_TIMESTAMP, "Unix time of the newest data point held, per dataset.",
                              zone, source, names.DATASET),
            intensity=_gauge(names.CARBON_INTENSITY, "Current grid carbon intensity, gCO2eq/kWh (lifecycle).",
                             zone, source, names.BASIS),
            forecast=_gauge(names.CARBON_INTENSITY_FORECAST, "Forecast grid carbon intensity `horizon` ahead, gCO2eq/kWh.",
                            zone, source, names.HORIZON),
            forecast_quantile=_gauge(names.CARBON_INTENSITY_FORECAST_QUANTILE, "Quantile of the intensity over the "
                                     "coming forecast window (now included), gCO2eq/kWh.", zone, source, names.QUANTILE),
            best_window_start=_gauge(names.CARBON_INTENSITY_BEST_WINDOW_START, "Start of the greenest window of "
                                     "`duration` within the coming forecast window, unix time.", zone, source, names.DURATION),
            best_window_mean=_gauge(names.CARBON_INTENSITY_BEST_WINDOW_MEAN, "Mean intensity of that greenest window, "
                                    "gCO2eq/kWh.", zone, source, names.DURATION),
            threshold=_gauge(names.CARBON_INTENSITY_THRESHOLD, "The zone's alert threshold per level, gCO2eq/kWh "
                             "(relative thresholds follow the forecast window's quantile).", zone, names.LEVEL),
            forecast_band=_gauge(names.CARBON_INTENSITY_FORECAST_BAND, "gridshift's forecast `horizon` ahead: its "
                                 "P10, P50 and P90 (`quantile` 0.1, 0.5, 0.9), gCO2eq/kWh.", zone, source, names.HORIZON,
                                 names.QUANTILE),
            forecaster_fallback=_gauge(names.FORECASTER_FALLBACK, "1 while the zone's forecast is persistence (too "
                                       "little history for the model), else 0.", zone),
            forecaster_issued=_gauge(names.FORECASTER_ISSUED, "Unix time of the hour the zone's forecast starts at.",
                                     zone),
            backfill_days=_gauge(names.BACKFILL_DAYS, "(zone, dataset, day) requests of the history backfill at "
                                 "start, by state: done, failed, pending.", "state"),
            backfill_errors=CounterMetricFamily(names.BACKFILL_ERRORS, "Failed backfill requests by reason "
                                                "(a ban's rate_limited included).", labels=[names.REASON]),
        )

    def all(self) -> list[GaugeMetricFamily | CounterMetricFamily]:
        return list(vars(self).values())


LEVELS = ("high", "critical", "low")


class GridCollector(Collector):
    def __init__(self, *, store: GridStore, staleness_limit_seconds: float, forecast: ForecastSettings,
                 thresholds: Mapping[str, ZoneThresholds] | None = None, clock: Callable[[], float] = time.time,
                 backfill: Callable[[], BackfillStatus | None] = lambda: None) -> None:
        self.store = store
        self.backfill = backfill
        self.staleness_limit_seconds = staleness_limit_seconds
        self.forecast_settings = forecast
        self.thresholds = thresholds or {}
        self.clock = clock

    def describe(self) -> Iterator[Metric]:
        return iter(_Families.empty().all())

    def collect(self) -> Iterator[Metric]:
        families = _Families.empty()
        now = self.clock()
        for zone, view in sorted(self.store.views().items()):
            self._add_data(families, view, now)
            # A zone's relative thresholds follow the quantiles of its first source (views rank them).
            quantiles = [found for series in view.series if (found := self._add_intensity(families, series, now)) is not None]
            if quantiles:
                self._add_thresholds(families, zone, quantiles)
            self._add_forecaster(families, view, now)
        self._add_backfill(families)
        return iter(families.all())

    def _add_backfill(self, families: _Families) -> None:
        status = self.backfill()
        if status is None:  # no ENTSO-E zone: nothing to backfill
            return
        for state, count in (("done", status.done), ("failed", status.failed), ("pending", status.pending)):
            families.backfill_days.add_metric([state], count)
        for reason, count in sorted(status.errors.items()):
            families.backfill_errors.add_metric([reason], count)

    def _fresh(self, timestamp: int, now: float) -> bool:
        return now - timestamp <= self.staleness_limit_seconds

    def _add_data(self, families: _Families, view: ZoneView, now: float) -> None:
        zone = view.zone
        for held in view.timestamps:
            families.timestamps.add_metric([zone, held.source, held.dataset], held.timestamp)
        if view.generation is not None and self._fresh(view.generation.timestamp, now):
            for psr_type, watts in sorted(view.generation.watts.items()):
                families.generation.add_metric([zone, psr_type, production_type_name(psr_type)], watts)
            if view.renewable_share is not None:
                families.renewable.add_metric([zone], view.renewable_share)
        if view.load is not None and self._fresh(view.load.timestamp, now):
            families.load.add_metric([zone], view.load.watts)

    def _add_thresholds(self, families: _Families, zone: str, quantiles: list[dict[str, float]]) -> None:
        """Thresholds of a zone that has a current intensity; its own over `default`."""
        default = self.thresholds.get("default", ZoneThresholds())
        own = self.thresholds.get(zone, ZoneThresholds())
        for level in LEVELS:
            value = getattr(own, level) if getattr(own, level) is not None else getattr(default, level)
            if isinstance(value, str):  # a relative threshold names a quantile: "p75"
                value = next((found[value] for found in quantiles if value in found), None)
            if value is not None:
                families.threshold.add_metric([zone, level], float(value))

    def _add_intensity(self, families: _Families, series: IntensitySeries, now: float) -> dict[str, float] | None:
        """The series' current value and forecasts; its window quantiles by `pNN`, None if it has no fresh value."""
        zone, source = series.zone, series.source
        current = series.current(now)
        if current is None:
            return None
        families.timestamps.add_metric([zone, source, f"intensity_{series.basis}"], current.start)
        if not self._fresh(current.start, now):
            return None
        families.intensity.add_metric([zone, source, series.basis], current.grams_per_kwh)
        if series.basis == "consumption":
            return {}  # flows are not forecast: the forecast families describe the production/provider series
        for horizon in names.FORECAST_HORIZONS:
            point = series.at(now + horizon)
            if point is not None:
                families.forecast.add_metric([zone, source, format_duration(horizon)], point.grams_per_kwh)
        return self._add_window(families, series, now)

    def _add_forecaster(self, families: _Families, view: ZoneView, now: float) -> None:
        """gridshift's own forecast of the zone: P50 by horizon as the contract's forecast series, the
        band, and the window's quantiles and greenest windows on P50; nothing once it is stale."""
        forecast = view.forecast
        if forecast is None or not forecast.points or not self._fresh(forecast.issued, now):
            return
        zone = view.zone
        families.forecaster_fallback.add_metric([zone], 1.0 if forecast.fallback else 0.0)
        families.forecaster_issued.add_metric([zone], forecast.issued)
        median = forecast_median(zone, forecast)
        for horizon in names.FORECAST_HORIZONS:
            point = median.at(now + horizon)
            if point is None:
                continue
            hour = forecast.points[median.points.index(point)]
            labels = [zone, FORECASTER, format_duration(horizon)]
            families.forecast.add_metric(labels, hour.p50)
            for q, field in QUANTILES:
                families.forecast_band.add_metric([*labels, f"{q:g}"], getattr(hour, field))
        self._add_window(families, median, now)

    def _add_window(self, families: _Families, series: IntensitySeries, now: float) -> dict[str, float]:
        """Quantiles and best windows of the coming forecast window; returns the quantiles by `pNN`."""
        window_seconds = self.forecast_settings.window_hours * 3600
        ahead = series.ahead(now, window_seconds)
        if len(ahead) < 2:  # "among the greener hours of the coming day" needs a coming day
            return {}
        labels = [series.zone, series.source]
        values = [point.grams_per_kwh for point in ahead]
        found = {}
        for q in self.forecast_settings.quantiles:
            found[f"p{round(q * 100)}"] = value = quantile(values, q)
            families.forecast_quantile.add_metric([*labels, f"{q:g}"], value)
        for hours in self.forecast_settings.best_window_hours:
            best = greenest_window(series, now=now, duration=hours * 3600, deadline=now + window_seconds)
            if best is not None:
                duration = format_duration(hours * 3600)
                families.best_window_start.add_metric([*labels, duration], best.start)
                families.best_window_mean.add_metric([*labels, duration], best.mean_grams_per_kwh)
        return found
