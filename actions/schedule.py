"""When a CronJob starts its next Job: its `schedule` in its `timeZone` (UTC when unset, as the
CronJob controller of a UTC control plane reads it), by croniter, which reads the same five-field
syntax and `@daily`-style macros. None when gridshift cannot read the schedule: the caller then
falls back to its plain rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


def next_run(cronjob: Mapping[str, Any], after: float) -> float | None:
    """The first scheduled start strictly after `after` (epoch seconds)."""
    spec = cronjob.get("spec") or {}
    schedule, zone = spec.get("schedule"), spec.get("timeZone")
    if not isinstance(schedule, str) or not isinstance(zone, str | None):
        return None
    return _next_run(schedule.strip(), zone or "", after)


@lru_cache(maxsize=4096)  # every pass asks again for each held CronJob; the answer never changes
def _next_run(schedule: str, zone_name: str, after: float) -> float | None:
    zone = _zone(zone_name)
    if zone is None:
        return None
    try:
        return float(croniter(schedule, datetime.fromtimestamp(after, zone)).get_next(float))
    except (ValueError, KeyError, TypeError, OverflowError):  # croniter's errors are ValueErrors
        return None


def _zone(name: str) -> tzinfo | None:
    if not name:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
