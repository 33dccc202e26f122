"""Intensity forecasts from ENTSO-E's day-ahead data, and what thresholds need of a forecast.

The day-ahead generation forecast (A71) gives total generation per interval; the wind and
solar forecast (A69) gives those types. What the forecast does not split (total minus wind and
solar) is assumed to keep the proportions the dispatchable part of the latest actual mix has,
so its intensity is that of the latest actual mix without wind and solar. Where no total
forecast is published, the load forecast (A65/A01) stands in for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gridshift.exporters.grid.intensity import mix_intensity
from gridshift.exporters.grid.mix import TOTAL, GenerationMix, Interval, Profile
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries

VARIABLE_RENEWABLES = frozenset({"B16", "B18", "B19"})  # solar, wind offshore, wind onshore


def day_ahead_points(*, latest: GenerationMix, total: Profile | None, wind_solar: Profile | None,
                     factors: Mapping[str, float], after: int) -> list[IntensityPoint]:
    """Forecast points starting after `after` (the latest actual interval)."""
    totals = _by_start(total.series.get(TOTAL, ()) if total else ())
    if not totals:
        return []
    dispatchable = {psr: w for psr, w in latest.watts.items() if psr not in VARIABLE_RENEWABLES}
    rest_intensity = mix_intensity(dispatchable, factors)
    variable = {psr: _by_start(intervals) for psr, intervals in (wind_solar.series.items() if wind_solar else ())}
    points = []
    for start, total_watts in sorted(totals.items()):
        if start <= after or total_watts <= 0:
            continue
        renewable = {psr: values[start] for psr, values in variable.items() if start in values}
        rest = max(0.0, total_watts - sum(renewable.values()))
        grams = sum(w * factors.get(psr, 0.0) for psr, w in renewable.items())
        if rest > 0 and rest_intensity is not None:
            grams += rest * rest_intensity
        points.append(IntensityPoint(start, grams / max(total_watts, sum(renewable.values())), forecast=True))
    return points


def _by_start(intervals: Sequence[Interval]) -> dict[int, float]:
    return {interval.start: interval.value for interval in intervals}


@dataclass(frozen=True)
class Window:
    start: int
    end: int
    mean_grams_per_kwh: float


def greenest_window(series: IntensitySeries, *, now: float, duration: float, deadline: float) -> Window | None:
    """The contiguous run of at least `duration` seconds with the lowest time-weighted mean
    intensity, starting with the current interval at the earliest and ending by `deadline`
    (the carbon-aware SDK's "optimal data point"). None when no such run is covered."""
    points = [p for p in series.points if series.end(p) > now and series.end(p) <= deadline]
    best: Window | None = None
    for first in range(len(points)):
        run_end, weighted, covered = points[first].start, 0.0, 0
        for point in points[first:]:
            if point.start != run_end:
                break  # a gap: no contiguous run from `first` reaches the duration
            length = series.end(point) - point.start
            run_end, weighted, covered = point.start + length, weighted + point.grams_per_kwh * length, covered + length
            if covered >= duration:
                mean = weighted / covered
                if best is None or mean < best.mean_grams_per_kwh:
                    best = Window(points[first].start, run_end, mean)
                break
    return best


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default), 0 < q < 1; `values` not empty."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
