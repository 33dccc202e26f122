"""The `gridshift.io/state` annotation: what gridshift changed on an object, so it can undo it.

One typed record with a fixed shape, written in the same patch as the change and decoded
strictly: a malformed record is an error for that one object (reported, left alone), never a
crash of the service (GoKubeDownscaler#520).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any



class Action(StrEnum):
    """What a hold does: the one vocabulary of actions (policy reads the annotation into it)."""

    PAUSE = "pause"
    SCALE_DOWN = "scale-down"
    MIGRATE = "migrate"
    SCALE_UP = "scale-up"  # on-green: the Low alert widens a service
    ELASTIC = "elastic"  # its width follows its schedule (elastic.py), hour by hour


ACTIONS = tuple(action.value for action in Action)
MAX_STATE_BYTES = 16 * 1024


class StateError(ValueError):
    """The annotation is not a state record this version can read."""


@dataclass(frozen=True)
class HoldState:
    action: str
    original: Mapping[str, Any]  # JSON pointer -> value before the hold (None: the field was absent)
    applied: Mapping[str, Any]  # JSON pointer -> value gridshift set
    since: float  # epoch seconds
    alert: str  # fingerprint@startsAt of the alert that caused it
    zone: str = ""
    target_zone: str = ""  # migrate: where the workload was sent
    # elastic: the work done (hours of one replica) up to `accounted_at`, at the width applied since
    work_done: float = 0.0
    accounted_at: float | None = None

    def encode(self) -> str:
        record: dict[str, Any] = {
            "version": 1, "action": self.action, "original": dict(self.original), "applied": dict(self.applied),
            "since": iso(self.since), "alert": self.alert, "zone": self.zone, "targetZone": self.target_zone,
        }
        if self.accounted_at is not None:
            record["workDone"] = round(self.work_done, 6)
            record["accountedAt"] = _iso_ms(self.accounted_at)  # to the millisecond: the work is counted from it
        return json.dumps(record, sort_keys=True, separators=(",", ":"))


def decode(text: str) -> HoldState:
    if len(text) > MAX_STATE_BYTES:
        raise StateError(f"state annotation is {len(text)} bytes, more than {MAX_STATE_BYTES}")
    try:
        record = json.loads(text)
    except ValueError:
        raise StateError("state annotation is not JSON") from None
    except RecursionError:  # json raises it, not ValueError, past ~1,000 levels: 2 KB is enough
        raise StateError("state annotation is nested too deeply to be a state record") from None
    if not isinstance(record, dict) or record.get("version") != 1:
        raise StateError("state annotation has no version 1 record")
    action = record.get("action")
    if action not in ACTIONS:
        raise StateError(f"state annotation has an unknown action {str(action)[:40]!r}")
    original, applied = record.get("original"), record.get("applied")
    if not isinstance(original, dict) or not isinstance(applied, dict) or set(original) != set(applied):
        raise StateError("state annotation's original and applied fields do not match")
    if not all(isinstance(key, str) and key.startswith("/") for key in original):
        raise StateError("state annotation's fields are not JSON pointers")
    work_done = record.get("workDone", 0.0)
    if not isinstance(work_done, (int, float)) or isinstance(work_done, bool) or not work_done >= 0:
        raise StateError("state annotation's workDone is not a number of hours")
    accounted = record.get("accountedAt")
    return HoldState(
        action=action, original=original, applied=applied, since=_parse_time(record.get("since")),
        alert=str(record.get("alert", "")), zone=str(record.get("zone", "")), target_zone=str(record.get("targetZone", "")),
        work_done=float(work_done), accounted_at=_parse_time(accounted) if accounted is not None else None,
    )


def iso(epoch: float) -> str:
    """An epoch as the state records times (RFC 3339, to the second, UTC)."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_ms(epoch: float) -> str:
    moment = datetime.fromtimestamp(round(epoch, 3), timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(value: Any) -> float:
    if not isinstance(value, str):
        raise StateError("state annotation has no `since` time")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise StateError(f"state annotation's `since` is not a time: {value[:40]!r}") from None
