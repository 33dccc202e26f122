"""The decision log: every change, restore, refusal and failure, newest first, and a JSON log line each.

A decision that repeats the previous one for the same workload (a skip seen at every reconcile)
is not logged again, so the log reads as what happened, not as a heartbeat; a plan is logged
again when its planned release moves, not when only its expected intensity does.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from gridshift.actions.elastic import ElasticPlan
from gridshift.actions.executor import Outcome, Result
from gridshift.actions.instruments import ActionInstruments
from gridshift.actions.planner import Plan
from gridshift.actions.policy import Decision

log = logging.getLogger("gridshift.decisions")


class DecisionLog:
    def __init__(self, *, keep: int, instruments: ActionInstruments, clock: Callable[[], float]) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=keep)
        self._last: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        self._lock = threading.Lock()
        self.instruments = instruments
        self.clock = clock

    def record(self, decision: Decision, outcome: Outcome) -> bool:
        """Log the decision; False when it only repeated the previous one for the workload."""
        key = (decision.namespace, decision.kind.name, decision.name)
        said = outcome.detail or decision.reason
        if decision.plan is not None and outcome.result == Result.SKIPPED:
            plan = decision.plan
            said = f"pauses at {_iso(plan.until)}" if plan.run_now and plan.until else f"planned release {_iso(plan.release_at)}"
        if decision.elastic is not None and outcome.result == Result.SKIPPED:
            schedule = decision.elastic
            change = schedule.next_change()
            said = f"{schedule.width_now} wide" + (f" until {_iso(change)}" if change is not None else "")
        signature = (decision.verb, outcome.result, said)
        with self._lock:
            if self._last.get(key) == signature and outcome.result in (Result.SKIPPED, Result.DRY_RUN):
                return False
            self._last[key] = signature
            entry = {
                "time": _iso(self.clock()),
                "namespace": decision.namespace, "kind": decision.kind.name, "name": decision.name,
                "decision": str(decision.verb), "action": decision.action, "result": str(outcome.result),
                "reason": outcome.detail or decision.reason, "alert": decision.alert, "zone": decision.zone,
                "target_zone": decision.target_zone, "before": outcome.before, "after": outcome.after,
                "dry_run": outcome.dry_run or None,  # client, or server (result dry_run: the API accepted it)
                "plan": _plan(decision.plan),
                "elastic": _elastic(decision.elastic),
            }
            self._entries.appendleft(entry)
        self.instruments.actions.labels(decision.namespace, decision.action or "none", outcome.result).inc()
        log.info(json.dumps(entry, default=str, sort_keys=True), extra={"decision": entry})
        return True

    def recent(self, *, limit: int, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = [e for e in self._entries if namespace is None or e["namespace"] == namespace]
        return entries[:limit]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _elastic(schedule: ElasticPlan | None) -> dict[str, Any] | None:
    """The width now, when it next changes, and the schedule's first day slot by slot."""
    if schedule is None:
        return None
    change = schedule.next_change()
    per_day = max(1, int(86400 // schedule.slot_seconds))
    return {"width": schedule.width_now, "next_change": _iso(change) if change is not None else None,
            "slot_seconds": schedule.slot_seconds, "widths": list(schedule.widths[:per_day]),
            "expected_grams_per_kwh": round(schedule.expected_grams_per_kwh, 1), "feasible": schedule.feasible}


def _plan(plan: Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {"release_at": _iso(plan.release_at), "latest_start": _iso(plan.latest_start),
            "expected_grams_per_kwh": round(plan.expected_grams_per_kwh, 1),
            "at_once_grams_per_kwh": round(plan.now_grams_per_kwh, 1), "runs_now": plan.run_now,
            "pauses_at": _iso(plan.until) if plan.until is not None else None}
