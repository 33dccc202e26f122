"""Series on the report's time grid, and the arithmetic the report does on them. Pure, no I/O.

The grid is the range's points: start, start + step, ..., end. A gauge's value at a point is
taken to hold for the step after it (integrals are left Riemann sums over the range's steps).
A counter's increment at a point is its rise since the previous point; a fall is a reset (the
new value is what was counted since); a series whose first point comes after the range's first
point was born within the range and counts from zero. Absent points are None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from gridshift.report.timerange import TimeRange

Grid = list[float | None]


@dataclass(frozen=True)
class Series:
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]  # (unix seconds, value), in time order


def times(span: TimeRange) -> list[float]:
    return [span.start + i * span.step for i in range(span.points)]


def on_grid(series: Series, span: TimeRange) -> Grid:
    values: Grid = [None] * span.points
    for at, value in series.points:
        index = round((at - span.start) / span.step)
        if 0 <= index < span.points and value == value:  # NaN (no intensity known) stays absent
            values[index] = value
    return values


def summed(grids: Iterable[Grid], size: int) -> Grid:
    """Point by point sum; a point absent from every grid stays absent."""
    total: Grid = [None] * size
    for grid in grids:
        total = [a if b is None else (b if a is None else a + b) for a, b in zip(total, grid)]
    return total


def increments(series: Series, span: TimeRange) -> list[float]:
    """A counter's rise at each point of the grid (see the module's rules)."""
    grid = on_grid(series, span)
    rises = [0.0] * span.points
    last: float | None = None
    for index, value in enumerate(grid):
        if value is None:
            continue
        if last is None:
            rises[index] = value if index > 0 else 0.0  # born within the range: from zero
        else:
            rises[index] = value - last if value >= last else value
        last = value
    return rises


def counter_rises(found: Sequence[Series], span: TimeRange, key: Callable[[Mapping[str, str]], str] = lambda _: "") \
        -> dict[str, list[float]]:
    """Rises per point, summed over the series that share a `key` of their labels."""
    grouped: dict[str, list[float]] = {}
    for series in found:
        rises = increments(series, span)
        before = grouped.get(key(series.labels), [0.0] * span.points)
        grouped[key(series.labels)] = [a + b for a, b in zip(before, rises)]
    return grouped


def cumulative(rises: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for rise in rises:
        total += rise
        out.append(total)
    return out


def integral(grid: Grid, step: float) -> float:
    """Sum of value x step over the range's steps (the last point starts no step)."""
    return sum((value or 0.0) * step for value in grid[:-1])


def time_above_zero(grid: Grid, step: float) -> float:
    return sum(step for value in grid[:-1] if value)


def mean(grid: Grid) -> float | None:
    present = [value for value in grid if value is not None]
    return sum(present) / len(present) if present else None
