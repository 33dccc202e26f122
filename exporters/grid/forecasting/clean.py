"""Timestamped values -> one regular hourly grid (pure, numpy only), counting what was dropped.

An hour is `[h, h + 3600)` in epoch seconds. Rules, in order: a value that is NaN or infinite is
dropped (`dropped_nan`), a negative one too (`dropped_negative`); of repeated timestamps the later
row wins (`duplicates`); points finer than an hour are averaged into their hour (`merged_subhourly`
counts the points beyond the first of an hour). Hours with no point stay NaN: gaps are never filled
here (the features treat them as missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HOUR = 3600


@dataclass(frozen=True)
class Cleaning:
    received: int  # points given
    dropped_nan: int  # NaN or infinite values
    dropped_negative: int
    duplicates: int  # repeated timestamps (the later one kept)
    merged_subhourly: int  # points averaged into an hour that already had one
    hours: int = 0  # hours with a value after cleaning
    missing_hours: int = 0  # hours without one between the first and the last

    @property
    def dropped(self) -> int:
        return self.dropped_nan + self.dropped_negative + self.duplicates


@dataclass(frozen=True)
class Grid:
    """Hourly values from `first_hour` (epoch hours, i.e. seconds // 3600), NaN where unknown."""

    first_hour: int
    values: np.ndarray

    @property
    def end_hour(self) -> int:  # one past the last
        return self.first_hour + len(self.values)

    def window(self, first_hour: int, end_hour: int) -> np.ndarray:
        """Values for [first_hour, end_hour), NaN outside what is known."""
        out = np.full(max(0, end_hour - first_hour), np.nan)
        lo, hi = max(first_hour, self.first_hour), min(end_hour, self.end_hour)
        if hi > lo:
            out[lo - first_hour:hi - first_hour] = self.values[lo - self.first_hour:hi - self.first_hour]
        return out


def to_hourly(timestamps: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray, *,
              allow_negative: bool = False) -> tuple[Grid | None, Cleaning]:
    """Clean and grid the points; None when nothing is left."""
    ts = np.asarray(timestamps, dtype=np.float64).ravel()
    vs = np.asarray(values, dtype=np.float64).ravel()
    if ts.shape != vs.shape:
        raise ValueError(f"{len(ts)} timestamps but {len(vs)} values")
    received = len(ts)
    finite = np.isfinite(vs) & np.isfinite(ts)
    dropped_nan = int((~finite).sum())
    ts, vs = ts[finite], vs[finite]
    negative = vs < 0 if not allow_negative else np.zeros(len(vs), bool)
    dropped_negative = int(negative.sum())
    ts, vs = ts[~negative], vs[~negative]
    # Repeated timestamps: keep the later row (the last occurrence in input order).
    order = np.arange(len(ts))
    _, last_index = np.unique(ts[::-1], return_index=True)
    keep = np.sort(order[::-1][last_index])
    duplicates = len(ts) - len(keep)
    ts, vs = ts[keep], vs[keep]
    if len(ts) == 0:
        return None, Cleaning(received, dropped_nan, dropped_negative, duplicates, 0)
    hours = np.floor(ts / HOUR).astype(np.int64)
    unique_hours, inverse, counts = np.unique(hours, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=vs)
    first = int(unique_hours[0])
    grid = np.full(int(unique_hours[-1]) - first + 1, np.nan)
    grid[unique_hours - first] = sums / counts
    cleaning = Cleaning(received, dropped_nan, dropped_negative, duplicates, int((counts - 1).sum()),
                        hours=len(unique_hours), missing_hours=len(grid) - len(unique_hours))
    return Grid(first, grid), cleaning
