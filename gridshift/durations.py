"""Durations as people write them in annotations and query strings: `90m`, `6h`, `2d`, `1h30m`."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> float:
    """Seconds of `text`; a clear DurationError for anything else (empty, negative, no unit)."""
    cleaned = text.strip().lower()
    if not cleaned or _PART.sub("", cleaned):
        raise DurationError(f"not a duration: {text[:40]!r} (expected e.g. 90m, 6h, 2d, 1h30m)")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(cleaned))
    if seconds <= 0:
        raise DurationError(f"duration must be positive: {text[:40]!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """`3600` -> `1h`, `5400` -> `90m`, `86400` -> `24h` (Prometheus-style label values)."""
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds)}s"
