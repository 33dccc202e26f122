"""When a CronJob starts its next Job: its `schedule` in its `timeZone` (UTC when unset, as the
CronJob controller of a UTC control plane reads it), by croniter, which reads the same five-field
syntax and `@daily`-style macros. None when gridshift cannot read the schedule: the CronJob is
then held at once, like any workload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


def next_run(cronjob: Mapping[str, Any], after: float) -> float | None:
    """The first scheduled start strictly after `after` (epoch seconds)."""
    spec = cronjob.get("spec") or {}
    schedule, zone = spec.get("schedule"), spec.get("timeZone")
    if not isinstance(schedule, str) or not isinstance(zone, str | None):
        return None
    key = (schedule.strip(), zone or "")
    known = _recent.get(key)
    if known is not None and known[0] <= after < known[1]:
        return known[1]  # no run falls between; every pass asks for each CronJob under an alert, croniter is slow
    due = _next_run(*key, after)
    if due is not None:
        _recent[key] = (after, due)
    return due


# (schedule, zone) -> (after, its next run): the answer for any moment in between. Bounded by
# the schedules in the cluster; a race between passes only computes an answer twice.
_recent: dict[tuple[str, str], tuple[float, float]] = {}


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
