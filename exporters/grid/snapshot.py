"""The grid exporter's snapshot: what the refresh jobs hold, and the zone views derived from it.

Two halves, each an immutable mapping swapped atomically (gridshift.snapshot.SnapshotStore):

- the inputs: what each job stored last, per `InputKey(zone, source, dataset)`. A key's type
  parameter is the type of what is held under it (`InputKey[GenerationMix | None]` for ENTSO-E's
  generation, `InputKey[IntensitySeries]` for a provider's series), and `held` gives it back with
  that type: nothing reading the inputs sorts values by `isinstance`.
- the views: `zone -> ZoneView`, built from the inputs by `derive.derive` after each refresh
  round. The collector and the JSON API read these only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar, cast

from gridshift.exporters.grid.forecasting.model import Forecast
from gridshift.exporters.grid.records import IntensitySeries
from gridshift.exporters.grid.views import FORECASTER, ZoneView
from gridshift.snapshot import SnapshotStore

T = TypeVar("T")


class InputKey(NamedTuple, Generic[T]):
    """Where one job's result is held; `T` is its type. Equal to the plain (zone, source, dataset) tuple."""

    zone: str
    source: str  # the `source` label: entsoe, ukgrid, electricitymaps, replay, static
    dataset: str  # the `dataset` label


@dataclass(frozen=True)
class Held(Generic[T]):
    """One job's last successful result."""

    value: T
    fetched_at: float


Inputs = Mapping[InputKey[Any], Held[Any]]

PROVIDED = "intensity"  # the dataset under which a provider's job holds its series


def provided_key(zone: str, source: str) -> InputKey[IntensitySeries]:
    """Where a provider (UK National Grid, Electricity Maps, replay, static) holds a zone's series."""
    return InputKey(zone, source, PROVIDED)


def forecast_key(zone: str) -> InputKey[Forecast]:
    """Where the forecaster's job holds a zone's forecast."""
    return InputKey(zone, FORECASTER, "forecast")


def held(inputs: Inputs, key: InputKey[T]) -> Held[T] | None:
    """What is held under `key`, typed by the key (the one place the type is asserted)."""
    return cast("Held[T] | None", inputs.get(key))


class GridStore:
    def __init__(self) -> None:
        self._inputs: SnapshotStore[InputKey[Any], Held[Any]] = SnapshotStore()
        self._views: SnapshotStore[str, ZoneView] = SnapshotStore()

    def current(self) -> Inputs:
        """The inputs held now."""
        return self._inputs.current()

    def put(self, key: InputKey[T], value: Held[T]) -> None:
        self._inputs.put(key, value)

    def views(self) -> Mapping[str, ZoneView]:
        """The zone views of the last derive step (empty before the first)."""
        return self._views.current()

    def publish(self, views: Mapping[str, ZoneView]) -> None:
        self._views.replace(views)
