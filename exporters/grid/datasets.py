"""The ENTSO-E datasets the grid exporter keeps, per zone: what to ask for and how to reduce it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gridshift.config import EntsoeSettings
from gridshift.exporters.grid import mix
from gridshift.exporters.grid.parse import Document
from gridshift.snapshot import SnapshotStore

Reduced = mix.GenerationMix | mix.Reading | mix.Profile | None


@dataclass(frozen=True)
class DatasetState:
    """What the snapshot holds per (zone, dataset name)."""

    value: Reduced
    fetched_at: float


GridSnapshot = SnapshotStore[tuple[str, str], DatasetState]


@dataclass(frozen=True)
class Dataset:
    name: str  # the `dataset` label value
    document_type: str
    process_type: str
    forecast: bool
    reduce: Callable[[Document, EntsoeSettings], Reduced]

    def window(self, now: datetime, settings: EntsoeSettings) -> tuple[datetime, datetime]:
        """Actuals: the lookback up to the next whole hour; forecasts: this hour onwards."""
        hour = now.replace(minute=0, second=0, microsecond=0)
        if self.forecast:
            return hour, hour + timedelta(hours=settings.forecast_hours)
        return hour - timedelta(hours=settings.lookback_hours), hour + timedelta(hours=1)

    def interval_seconds(self, settings: EntsoeSettings) -> float:
        return settings.refresh.forecast_seconds if self.forecast else settings.refresh.actual_seconds


def _generation(document: Document, settings: EntsoeSettings) -> Reduced:
    return mix.latest_generation_mix(document, vanished_after_seconds=settings.vanished_after_seconds)


def _load(document: Document, settings: EntsoeSettings) -> Reduced:
    return mix.latest_reading(document)


def _profile(document: Document, settings: EntsoeSettings) -> Reduced:
    return mix.profile(document)


GENERATION = Dataset("generation", "A75", "A16", forecast=False, reduce=_generation)
LOAD = Dataset("load", "A65", "A16", forecast=False, reduce=_load)
GENERATION_FORECAST = Dataset("generation_forecast", "A71", "A01", forecast=True, reduce=_profile)
WIND_SOLAR_FORECAST = Dataset("wind_solar_forecast", "A69", "A01", forecast=True, reduce=_profile)
LOAD_FORECAST = Dataset("load_forecast", "A65", "A01", forecast=True, reduce=_profile)

ALL: tuple[Dataset, ...] = (GENERATION, LOAD, GENERATION_FORECAST, WIND_SOLAR_FORECAST, LOAD_FORECAST)


def newest_timestamp(value: Reduced) -> int | None:
    if isinstance(value, (mix.GenerationMix, mix.Reading)):
        return value.timestamp
    if isinstance(value, mix.Profile):
        return value.newest_timestamp
    return None
