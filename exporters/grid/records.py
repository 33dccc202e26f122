"""Carbon intensity as every source delivers it: a time series of points for one zone.

Providers (UK National Grid, Electricity Maps, static, replay) and the ENTSO-E computation all
produce an IntensitySeries; the collector and the JSON API read nothing else.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

Basis = Literal["production", "consumption", "provider"]


@dataclass(frozen=True)
class IntensityPoint:
    start: int  # epoch seconds, start of the interval
    grams_per_kwh: float
    forecast: bool = False  # a forecast value (versus a measured or computed actual)
    seconds: int | None = None  # the interval's length when it differs from the series' resolution


@dataclass(frozen=True)
class IntensitySeries:
    zone: str
    source: str
    basis: Basis
    resolution_seconds: int
    points: tuple[IntensityPoint, ...]  # sorted by start, no duplicates

    @cached_property
    def _starts(self) -> list[int]:
        """Point starts, built once per series: the collector looks up several horizons per scrape."""
        return [p.start for p in self.points]

    def end(self, point: IntensityPoint) -> int:
        return point.start + (point.seconds or self.resolution_seconds)

    def at(self, moment: float) -> IntensityPoint | None:
        """The point whose interval contains `moment`."""
        index = bisect.bisect_right(self._starts, moment) - 1
        if index < 0 or moment >= self.end(self.points[index]):
            return None
        return self.points[index]

    def current(self, now: float) -> IntensityPoint | None:
        """The newest actual that has started by `now`; a forecast only where no actual exists.

        An actual of an hour ago says more about the grid now than the day-ahead guess for this
        hour does; the staleness limit decides when it is too old to say anything.
        """
        started = [point for point in self.points if point.start <= now]
        actuals = [point for point in started if not point.forecast]
        if actuals:
            return actuals[-1]
        return started[-1] if started else None

    def ahead(self, now: float, seconds: float) -> tuple[IntensityPoint, ...]:
        """Points of the coming window: intervals that end after now and start before now + seconds."""
        return tuple(p for p in self.points if self.end(p) > now and p.start < now + seconds)

    @property
    def newest_timestamp(self) -> int | None:
        return self.points[-1].start if self.points else None


def make_series(*, zone: str, source: str, basis: Basis, resolution_seconds: int,
                points: list[IntensityPoint]) -> IntensitySeries:
    """Sort and de-duplicate (the later entry for a start wins: an actual replaces its forecast)."""
    by_start = {point.start: point for point in points}
    return IntensitySeries(zone, source, basis, resolution_seconds, tuple(by_start[k] for k in sorted(by_start)))
