"""The report's time range: `--from`, `--to` and `--step` as people write them -> unix seconds.

A time is `now`, `now-24h` (any gridshift duration: `90m`, `2d`, `1h30m`), a bare duration
meaning that long ago (`7d` = `now-7d`), or an RFC 3339 timestamp (`2025-06-01T12:00:00Z`,
`2025-06-01T14:00:00+02:00`; a timestamp without an offset is refused, not guessed). The step
defaults to a 300th of the range in whole seconds (at least 1 s); the range is trimmed to a
whole number of steps, so its end is a point Prometheus returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from gridshift.durations import DurationError, parse_duration

MAX_POINTS = 11_000  # Prometheus refuses a range query of more points per series
DEFAULT_POINTS = 300


class RangeError(ValueError):
    """A time range that cannot be reported on; the message says why."""


@dataclass(frozen=True)
class TimeRange:
    start: float
    end: float
    step: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def points(self) -> int:
        return int(round(self.seconds / self.step)) + 1


def parse_time(text: str, *, now: float) -> float:
    cleaned = text.strip()
    if cleaned == "now":
        return now
    if cleaned.startswith("now-"):
        return now - _duration(cleaned[4:], text)
    if cleaned[:1].isdigit() and cleaned[-1:].lower() in "smhd" and "T" not in cleaned.upper():
        return now - _duration(cleaned, text)
    try:
        parsed = datetime.fromisoformat(cleaned.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise RangeError(f"not a time: {text[:40]!r} (expected now, now-24h, 7d or RFC 3339 like "
                         "2025-06-01T12:00:00Z)") from None
    if parsed.tzinfo is None:
        raise RangeError(f"{text[:40]!r} has no UTC offset: add Z or +hh:mm")
    return parsed.timestamp()


def resolve(start: str, end: str, *, step: str | None, now: float) -> TimeRange:
    first, last = parse_time(start, now=now), parse_time(end, now=now)
    if last <= first:
        raise RangeError(f"--from ({iso(first)}) must be before --to ({iso(last)})")
    if first > now:
        raise RangeError(f"--from ({iso(first)}) is in the future")
    seconds = _duration(step, step) if step else max(1.0, float(math.ceil((last - first) / DEFAULT_POINTS)))
    if seconds > last - first:
        raise RangeError(f"--step ({step}) is longer than the range ({last - first:g} s)")
    if (last - first) / seconds + 1 > MAX_POINTS:
        raise RangeError(f"--step {step} gives more than {MAX_POINTS} points over {last - first:g} s: "
                         f"use at least {math.ceil((last - first) / (MAX_POINTS - 1))}s")
    return TimeRange(start=first, end=first + math.floor((last - first) / seconds) * seconds, step=seconds)


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(text: str, original: str) -> float:
    try:
        return parse_duration(text)
    except DurationError as error:
        raise RangeError(f"{original[:40]!r}: {error}") from None
