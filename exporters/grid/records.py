"""Carbon intensity as every source delivers it: a time series of points for one zone.

Providers (UK National Grid, Electricity Maps, static, replay) and the ENTSO-E computation all
produce an IntensitySeries; the collector and the JSON API read nothing else.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

Basis = Literal["production", "consumption", "provider"]


@dataclass(frozen=True)
class IntensityPoint:
    start: int  # epoch seconds, start of the interval
    grams_per_kwh: float
    forecast: bool = False  # a forecast value (versus a measured or computed actual)


@dataclass(frozen=True)
class IntensitySeries:
    zone: str
    source: str
    basis: Basis
    resolution_seconds: int
    points: tuple[IntensityPoint, ...]  # sorted by start, no duplicates

    def at(self, moment: float) -> IntensityPoint | None:
        """The point whose interval contains `moment`."""
        index = bisect.bisect_right([p.start for p in self.points], moment) - 1
        if index < 0 or moment >= self.points[index].start + self.resolution_seconds:
            return None
        return self.points[index]

    def current(self, now: float) -> IntensityPoint | None:
        """The newest point that has started by `now` (an actual when one exists)."""
        started = [point for point in self.points if point.start <= now]
        return started[-1] if started else None

    def ahead(self, now: float, seconds: float) -> tuple[IntensityPoint, ...]:
        """Points of the coming window: intervals that end after now and start before now + seconds."""
        return tuple(p for p in self.points if p.start + self.resolution_seconds > now and p.start < now + seconds)

    @property
    def newest_timestamp(self) -> int | None:
        return self.points[-1].start if self.points else None


def make_series(*, zone: str, source: str, basis: Basis, resolution_seconds: int,
                points: list[IntensityPoint]) -> IntensitySeries:
    """Sort and de-duplicate (the later entry for a start wins: an actual replaces its forecast)."""
    by_start = {point.start: point for point in points}
    return IntensitySeries(zone, source, basis, resolution_seconds, tuple(by_start[k] for k in sorted(by_start)))
