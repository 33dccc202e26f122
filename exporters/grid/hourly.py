"""Hourly series held compactly: one numpy array per series from its first hour on, NaN where unknown.

A year of history for 40 zones is about 20 series a zone of 8,760 hours: as Python lists of
(time, value) tuples that is close to a gigabyte, as float32 arrays 30 MB. Production shares
(0..1, three significant digits are plenty for a feature) are held as float16. Hours are epoch
hours (seconds // 3600) inside, epoch seconds at the edges.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from gridshift.exporters.grid.forecasting.clean import Grid

HOUR = 3600
SHARE = "share:"  # prefix of a production type's share of the hour's production: "share:B16" is solar's


def dtype_for(name: str) -> type[np.floating]:
    return np.float16 if name.startswith(SHARE) else np.float32


class HourlyColumn:
    """One hourly series. Not thread-safe: its owner locks."""

    __slots__ = ("dtype", "first_hour", "values")

    def __init__(self, dtype: type[np.floating] = np.float32) -> None:
        self.dtype = dtype
        self.first_hour = 0
        self.values = np.empty(0, dtype)

    @property
    def end_hour(self) -> int:
        return self.first_hour + len(self.values)

    def __len__(self) -> int:
        return int(np.isfinite(self.values).sum())

    def put(self, points: Iterable[tuple[float, float]]) -> None:
        """Set the hour of each (epoch seconds, value); a later value for an hour wins; NaN clears it."""
        pairs = [(int(t) // HOUR, float(v)) for t, v in points if math.isfinite(t)]
        if not pairs:
            return
        hours = np.fromiter((h for h, _ in pairs), np.int64, len(pairs))
        self._cover(int(hours.min()), int(hours.max()) + 1)
        self.values[hours - self.first_hour] = np.fromiter((v for _, v in pairs), np.float64, len(pairs))

    def window(self, first_hour: int, end_hour: int) -> np.ndarray:
        """float64 values of the hours [first_hour, end_hour), NaN where unknown."""
        return Grid(self.first_hour, self.values).window(first_hour, end_hour)

    def items(self) -> list[tuple[int, float]]:
        """(epoch seconds of the hour, value) of every known hour, oldest first."""
        known = np.flatnonzero(np.isfinite(self.values))
        return [(int(self.first_hour + k) * HOUR, float(self.values[k])) for k in known]

    def copy(self) -> HourlyColumn:
        """An independent copy (to read outside its owner's lock)."""
        copy = HourlyColumn(self.dtype)
        copy.first_hour, copy.values = self.first_hour, self.values.copy()
        return copy

    def drop_before(self, hour: int) -> None:
        if hour > self.first_hour:
            cut = min(hour - self.first_hour, len(self.values))
            self.values = self.values[cut:].copy()
            self.first_hour += cut

    def _cover(self, lo: int, hi: int) -> None:
        if len(self.values) == 0:
            self.first_hour, self.values = lo, np.full(hi - lo, np.nan, self.dtype)
            return
        if lo >= self.first_hour and hi <= self.end_hour:
            return
        first, end = min(lo, self.first_hour), max(hi, self.end_hour)
        grown = np.full(end - first, np.nan, self.dtype)
        grown[self.first_hour - first:self.end_hour - first] = self.values
        self.first_hour, self.values = first, grown


def merged(first_hour: int, end_hour: int, layers: Iterable[HourlyColumn | None]) -> np.ndarray:
    """The hours [first_hour, end_hour) of several columns, each later one winning where it has a value."""
    out = np.full(max(0, end_hour - first_hour), np.nan)
    for layer in layers:
        if layer is not None:
            values = layer.window(first_hour, end_hour)
            out = np.where(np.isfinite(values), values, out)
    return out
