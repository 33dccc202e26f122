"""A fixed intensity per zone, for air-gapped clusters or contracted supply."""

from __future__ import annotations

from collections.abc import Mapping

from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries, make_series

HOUR = 3600


class StaticProvider:
    name = "static"
    refresh_seconds = 60.0

    def __init__(self, values: Mapping[str, float]) -> None:
        self._values = dict(values)

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(self._values)

    def fetch(self, zone: str, now: float) -> IntensitySeries:
        """The value now and for the coming 48 hours: a constant is its own forecast."""
        hour = int(now) // HOUR * HOUR
        points = [IntensityPoint(hour + k * HOUR, self._values[zone], forecast=k > 0) for k in range(49)]
        return make_series(zone=zone, source=self.name, basis="provider", resolution_seconds=HOUR, points=points)
