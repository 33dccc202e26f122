"""The ENTSO-E datasets the grid exporter keeps, per zone: what to ask for, how to reduce it, where it is held."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from gridshift import names
from gridshift.config import EntsoeSettings
from gridshift.exporters.grid import mix
from gridshift.exporters.grid.parse import Document
from gridshift.exporters.grid.snapshot import InputKey

SOURCE = names.SOURCE_ENTSOE
IMPORTS = "imports"  # physical cross-border flow into `zone` from `neighbour` (A11)


class Timestamped(Protocol):
    @property
    def newest_timestamp(self) -> int | None: ...


R = TypeVar("R", bound="Timestamped | None", covariant=True)


@dataclass(frozen=True)
class Dataset(Generic[R]):
    name: str  # the `dataset` label value (imports: `imports_from_<neighbour>`)
    document_type: str
    process_type: str
    forecast: bool
    reduce: Callable[[Document, EntsoeSettings], R]

    def key(self, zone: str, neighbour: str | None = None) -> InputKey[R]:
        return InputKey(zone, SOURCE, imports_dataset_name(neighbour) if neighbour else self.name)

    def window(self, now: datetime, settings: EntsoeSettings) -> tuple[datetime, datetime]:
        """Actuals: the lookback up to the next whole hour; forecasts: this hour onwards."""
        hour = now.replace(minute=0, second=0, microsecond=0)
        if self.forecast:
            return hour, hour + timedelta(hours=settings.forecast_hours)
        return hour - timedelta(hours=settings.lookback_hours), hour + timedelta(hours=1)

    def interval_seconds(self, settings: EntsoeSettings) -> float:
        return settings.refresh.forecast_seconds if self.forecast else settings.refresh.actual_seconds


def imports_dataset_name(neighbour: str) -> str:
    return f"{IMPORTS}_from_{neighbour}"


def _generation(document: Document, settings: EntsoeSettings) -> mix.GenerationMix | None:
    return mix.latest_generation_mix(document, vanished_after_seconds=settings.vanished_after_seconds)


def _load(document: Document, settings: EntsoeSettings) -> mix.Reading | None:
    return mix.latest_reading(document)


def _profile(document: Document, settings: EntsoeSettings) -> mix.Profile:
    return mix.profile(document)


GENERATION = Dataset("generation", "A75", "A16", forecast=False, reduce=_generation)
LOAD = Dataset("load", "A65", "A16", forecast=False, reduce=_load)
GENERATION_FORECAST = Dataset("generation_forecast", "A71", "A01", forecast=True, reduce=_profile)
WIND_SOLAR_FORECAST = Dataset("wind_solar_forecast", "A69", "A01", forecast=True, reduce=_profile)
LOAD_FORECAST = Dataset("load_forecast", "A65", "A01", forecast=True, reduce=_profile)
IMPORTS_FLOWS = Dataset(IMPORTS, "A11", "", forecast=False, reduce=_profile)  # one job per (zone, neighbour)

ALL: tuple[Dataset[Timestamped | None], ...] = (GENERATION, LOAD, GENERATION_FORECAST, WIND_SOLAR_FORECAST, LOAD_FORECAST)
