"""A recorded trace as the simulator walks it: intensity as a step function of time.

Accounting needs a value at every moment a workload runs, so a gap in the trace (the Swedish
carbonAdvisor trace has many) carries the last value forward: that is what the grid most
plausibly did, and it is the same for every policy. Alerting does not: the exporter stops
exporting a value older than its staleness limit, so an alert cannot fire on it (`exported`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries
from gridshift.exporters.grid.traces import Trace, load_trace

HOUR = 3600.0
DAY = 24 * HOUR
STALENESS_LIMIT_SECONDS = 3 * HOUR  # grid.staleness_limit_seconds' default


@dataclass(frozen=True)
class Grid:
    zone: str
    trace: Trace

    @classmethod
    def load(cls, path: Path, zone: str | None = None) -> Grid:
        trace = load_trace(path)
        return cls(zone=zone or trace.zone or path.stem, trace=trace)

    @cached_property
    def starts(self) -> list[int]:
        return list(self.trace.starts)

    @cached_property
    def values(self) -> list[float]:
        return [value for _, value in self.trace.points]

    @property
    def start(self) -> int:
        return self.starts[0]

    @property
    def end(self) -> int:
        return self.trace.end

    @cached_property
    def _cumulative(self) -> list[float]:
        """Gram-hours per kW from the trace's start to each point's start (the last value runs to `end`)."""
        total, sums = 0.0, [0.0]
        bounds = [*self.starts[1:], self.end]
        for start, stop, value in zip(self.starts, bounds, self.values):
            total += value * (stop - start) / HOUR
            sums.append(total)
        return sums

    def index(self, moment: float) -> int:
        return max(0, bisect.bisect_right(self.starts, moment) - 1)

    def value(self, moment: float) -> float:
        """The intensity at `moment`, gaps carrying the last value forward."""
        return self.values[self.index(moment)]

    def grams(self, begin: float, end: float, kilowatts: float = 1.0) -> float:
        """gCO2eq emitted drawing `kilowatts` from `begin` to `end`."""
        return kilowatts * (self._integral(end) - self._integral(begin)) if end > begin else 0.0

    def _integral(self, moment: float) -> float:
        moment = min(max(moment, self.start), self.end)
        i = self.index(moment)
        return self._cumulative[i] + self.values[i] * (moment - self.starts[i]) / HOUR

    def exported(self, moment: float) -> float | None:
        """What the grid exporter exports at `moment`: the newest point, unless older than the staleness limit."""
        i = bisect.bisect_right(self.starts, moment) - 1
        if i < 0 or moment - self.starts[i] > STALENESS_LIMIT_SECONDS or moment >= self.end:
            return None
        return self.values[i]

    def boundaries(self) -> list[int]:
        """Every moment the exported value can change: point starts and staleness expiries."""
        moments = set(self.starts)
        for start, nxt in zip(self.starts, [*self.starts[1:], self.end]):
            if nxt - start > STALENESS_LIMIT_SECONDS:
                moments.add(int(start + STALENESS_LIMIT_SECONDS))
        moments.add(self.end)
        return sorted(moments)

    def between(self, begin: float, end: float) -> Grid:
        """The points that start in [begin, end): a shorter stretch of the same trace."""
        kept = tuple(point for point in self.trace.points if begin <= point[0] < end)
        return Grid(self.zone, replace(self.trace, points=kept, skipped_lines=(), duplicates=0))

    def series(self, *, shift_seconds: int = 0) -> IntensitySeries:
        """The trace as the exporter holds it; shifted by a day it is the persistence forecast
        (tomorrow looks like today), the simplest forecast anyone has."""
        points = tuple(IntensityPoint(start=start + shift_seconds, grams_per_kwh=value, seconds=length)
                       for (start, value), length in zip(self.trace.points, self.trace.seconds))
        return IntensitySeries(zone=self.zone, source="replay", basis="provider",
                               resolution_seconds=self.trace.resolution_seconds, points=points)
