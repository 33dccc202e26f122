"""What the exporter knows about one zone: the `ZoneView` the collector and the JSON API read.

A view is built by `derive.derive` after each refresh round from what the jobs hold, and is
immutable. What depends on the moment of a scrape (is it fresh? which point is current? the
coming window's quantiles) is left to the readers; everything else is computed once, here.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridshift.exporters.grid.forecasting.model import Forecast
from gridshift.exporters.grid.mix import GenerationMix, Reading
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries

# Which series answers first when a zone has several: the forecast a relative threshold follows,
# the API's forecast, the order of the API's values.
SOURCE_PREFERENCE = ("entsoe", "ukgrid", "electricitymaps", "replay", "static")


def source_rank(source: str) -> int:
    return SOURCE_PREFERENCE.index(source) if source in SOURCE_PREFERENCE else len(SOURCE_PREFERENCE)


@dataclass(frozen=True)
class DataTimestamp:
    """The newest data point held of one dataset (`gridshift_grid_data_timestamp_seconds`)."""

    source: str
    dataset: str
    timestamp: int


@dataclass(frozen=True)
class ZoneView:
    """One zone after a refresh round.

    `generation`, `renewable_share` and `load` are ENTSO-E's (the only upstream that publishes
    a mix); `series` holds every intensity series of the zone, from every source and basis,
    ranked by SOURCE_PREFERENCE and then basis. `forecast` is gridshift's own forecast of the
    zone (P10/P50/P90 hourly, zone_forecasts.py), held like a fetched input.
    """

    zone: str
    generation: GenerationMix | None = None  # the newest complete mix
    renewable_share: float | None = None  # of that mix, 0..1; None without generation
    load: Reading | None = None  # the newest actual total load
    timestamps: tuple[DataTimestamp, ...] = ()  # of each dataset held, by source and dataset
    series: tuple[IntensitySeries, ...] = ()
    forecast: Forecast | None = None

    def intensity(self, source: str, basis: str) -> IntensitySeries | None:
        return next((s for s in self.series if s.source == source and s.basis == basis), None)


FORECASTER = "forecaster"  # the source label of gridshift's own forecast
QUANTILES = ((0.1, "p10"), (0.5, "p50"), (0.9, "p90"))  # of each forecast hour


def forecast_median(zone: str, forecast: Forecast) -> IntensitySeries:
    """The forecast's P50 as a series (what greenest windows and window quantiles are computed on)."""
    return IntensitySeries(zone=zone, source=FORECASTER, basis="provider", resolution_seconds=3600,
                           points=tuple(IntensityPoint(p.start, p.p50, forecast=True) for p in forecast.points))


def series_dataset(series: IntensitySeries) -> str:
    """The name a series goes by in readiness: `intensity`, or `intensity_consumption` for flows."""
    return "intensity_consumption" if series.basis == "consumption" else "intensity"
