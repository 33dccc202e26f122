"""Alertmanager webhook payload (version 4) -> Alert records, and the book of active alerts.

Pure: validation of the payload's shape, and the rule that makes notifications idempotent and
order-proof. Alertmanager sends the same alert again and again (repeat_interval, grouping),
may send "resolved" before a delayed "firing" arrives, and may lose a notification. The book
keeps, per fingerprint, the newest thing known; a firing notice older than a resolution
already seen is stale and ignored. The reconcile loop replaces the book from Alertmanager's
own API, so a lost notification heals at the next reconcile.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from gridshift import names

# `window`: GridCarbonGreenerWindowAhead, a clearly greener window lies ahead (docs/actions.md "Plans").
Level = Literal["low", "high", "critical", "window"]
LEVELS: tuple[str, ...] = ("low", "high", "critical", "window")
MAX_ALERTS = 10_000
MAX_LABEL_LENGTH = 1024
# The book's bounds (issue 19 defect 6: 100,000 distinct alerts took a pass from 1 s to 8.8 s).
# A decision needs to know whether a zone has an active alert of a level, not every copy of it.
MAX_PER_ZONE_LEVEL = 16  # fingerprints kept per (zone, level): HA Prometheus pairs, a few rules
MAX_ZONES = 1_000  # distinct zones with an active alert
MAX_RESOLVED = 10_000  # remembered resolutions (to drop a stale firing that arrives after them)


class PayloadError(ValueError):
    """The webhook body is not an Alertmanager version 4 payload; the message says why."""


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    firing: bool
    name: str
    zone: str | None
    level: str | None
    starts_at: float
    ends_at: float | None  # None: not set (Alertmanager's 0001-01-01)
    labels: Mapping[str, str]

    @property
    def actionable(self) -> bool:
        """Carries `zone` and a known `level` (CONTRACT.md): everything else is acknowledged and ignored."""
        return bool(self.zone) and self.level in LEVELS


def parse_payload(document: Any) -> list[Alert]:
    if not isinstance(document, dict):
        raise PayloadError("the body must be a JSON object")
    version = document.get("version")
    if version != "4":
        raise PayloadError(f"unsupported payload version {version!r}: expected \"4\" (Alertmanager webhook)")
    alerts = document.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("`alerts` must be a list")
    if len(alerts) > MAX_ALERTS:
        raise PayloadError(f"`alerts` has {len(alerts)} entries; at most {MAX_ALERTS} are accepted")
    return [parse_alert(alert, f"alerts[{index}]") for index, alert in enumerate(alerts)]


def parse_alert(alert: Any, where: str) -> Alert:
    """One alert of a webhook payload or of Alertmanager's API v2 (`status.state`)."""
    if not isinstance(alert, dict):
        raise PayloadError(f"{where} must be an object")
    labels = _labels(alert.get("labels"), f"{where}.labels")
    fingerprint = alert.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint or len(fingerprint) > 64:
        raise PayloadError(f"{where}.fingerprint must be a non-empty string of at most 64 characters")
    status = alert.get("status")
    if isinstance(status, dict):  # API v2: {"state": "active" | "suppressed" | "unprocessed"}
        firing = status.get("state") in ("active", "suppressed", "unprocessed")
    elif status in ("firing", "resolved"):
        firing = status == "firing"
    else:
        raise PayloadError(f"{where}.status must be \"firing\" or \"resolved\"")
    return Alert(
        fingerprint=fingerprint, firing=firing, name=labels.get("alertname", ""),
        zone=labels.get(names.ZONE) or None, level=labels.get(names.LEVEL) or None,
        starts_at=_time(alert.get("startsAt"), f"{where}.startsAt", required=True) or 0.0,
        ends_at=_time(alert.get("endsAt"), f"{where}.endsAt", required=False), labels=labels,
    )


def is_gridshift_alert(alert: Any) -> bool:
    """Whether a raw alert carries gridshift's `zone` and a known `level` (CONTRACT.md): only those
    are read from Alertmanager's list of the whole cluster's alerts."""
    labels = alert.get("labels") if isinstance(alert, dict) else None
    return (isinstance(labels, dict) and isinstance(labels.get(names.ZONE), str) and bool(labels[names.ZONE])
            and labels.get(names.LEVEL) in LEVELS)


def _labels(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > MAX_LABEL_LENGTH or len(item) > MAX_LABEL_LENGTH:
            raise PayloadError(f"{where}.{str(key)[:40]!r} must be a string of at most {MAX_LABEL_LENGTH} characters")
        try:  # a lone surrogate survives JSON but no UTF-8 output (metrics, logs, Events)
            key.encode("utf-8")
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise PayloadError(f"{where} has a label that is not valid Unicode text") from None
    return dict(value)


def _time(value: Any, where: str, *, required: bool) -> float | None:
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be an RFC 3339 time")
    if value.startswith("0001-01-01"):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{where} is not an RFC 3339 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class AlertBook:
    """Active actionable alerts by fingerprint, bounded (MAX_PER_ZONE_LEVEL, MAX_ZONES, MAX_RESOLVED:
    what is over a bound is dropped and counted in `dropped`); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, Alert] = {}
        self._resolved_at: dict[str, float] = {}  # fingerprint -> endsAt of the newest resolution seen
        self._heard = False  # a webhook or an Alertmanager sync since start: the book says what is active
        self.dropped = 0  # firing alerts not kept: over a bound
        self._bounds = _Bounds()

    @property
    def heard(self) -> bool:
        """Whether the book has been told anything since the service started. Until then an
        absent alert is unknown, not resolved (a restart during an alert must not undo its holds)."""
        return self._heard

    def apply(self, alerts: Iterable[Alert]) -> set[str]:
        """Record notifications; return the zones whose active set changed."""
        changed: set[str] = set()
        with self._lock:
            self._heard = True
            for alert in alerts:
                if not alert.actionable:
                    continue
                if alert.firing:
                    if alert.starts_at <= self._resolved_at.get(alert.fingerprint, float("-inf")):
                        continue  # a stale "firing" that arrived after its own resolution
                    if alert.fingerprint not in self._active:
                        if not self._bounds.admit(alert):
                            self.dropped += 1
                            continue
                        changed.add(alert.zone or "")
                    self._active[alert.fingerprint] = alert
                else:
                    ended = alert.ends_at if alert.ends_at is not None else alert.starts_at
                    self._resolved_at[alert.fingerprint] = max(ended, self._resolved_at.get(alert.fingerprint, ended))
                    if (gone := self._active.pop(alert.fingerprint, None)) is not None:
                        self._bounds.remove(gone)
                        changed.add(alert.zone or "")
            self._forget_old_resolutions()
        return changed

    def _forget_old_resolutions(self) -> None:
        """Past MAX_RESOLVED, the oldest tenth go: a stale firing arrives minutes after, not days."""
        if len(self._resolved_at) > MAX_RESOLVED:
            newest = sorted(self._resolved_at.items(), key=lambda item: item[1])[len(self._resolved_at) - MAX_RESOLVED * 9 // 10:]
            self._resolved_at = dict(newest)

    def replace(self, active: Iterable[Alert]) -> set[str]:
        """Make the book what Alertmanager says is active now; return the zones that changed."""
        fresh: dict[str, Alert] = {}
        bounds = _Bounds()
        for alert in active:
            if alert.actionable and alert.firing and alert.fingerprint not in fresh:
                if bounds.admit(alert):
                    fresh[alert.fingerprint] = alert
                else:
                    self.dropped += 1
        with self._lock:
            self._heard = True
            before = self._active
            changed = {a.zone or "" for f, a in before.items() if f not in fresh}
            changed |= {a.zone or "" for f, a in fresh.items() if f not in before}
            self._active, self._bounds = fresh, bounds
        return changed

    def active(self) -> list[Alert]:
        with self._lock:
            return list(self._active.values())


class _Bounds:
    """How many fingerprints a book holds per (zone, level) and per zone, to admit within bounds."""

    def __init__(self) -> None:
        self.per_level: Counter[tuple[str | None, str | None]] = Counter()
        self.per_zone: Counter[str | None] = Counter()

    def admit(self, alert: Alert) -> bool:
        key = (alert.zone, alert.level)
        if self.per_level[key] >= MAX_PER_ZONE_LEVEL:
            return False
        if not self.per_zone[alert.zone] and len(self.per_zone) >= MAX_ZONES:
            return False
        self.per_level[key] += 1
        self.per_zone[alert.zone] += 1
        return True

    def remove(self, alert: Alert) -> None:
        key = (alert.zone, alert.level)
        self.per_level[key] -= 1
        if self.per_level[key] <= 0:
            del self.per_level[key]
        self.per_zone[alert.zone] -= 1
        if self.per_zone[alert.zone] <= 0:
            del self.per_zone[alert.zone]  # a zone with none left no longer counts against MAX_ZONES
