"""Decision -> one guarded JSON patch on the object itself, and an Event saying why.

The patch opens with a `test` of the resourceVersion the decision was made on, changes only the
fields the action changes, and writes `gridshift.io/state` in the same request, under the field
manager `gridshift`. A conflict means the object changed since it was read: nothing was written,
and the reconciler re-reads and decides again. A restore puts back exactly what the state says
gridshift changed, unless a person changed those fields while it was held: then the person's
values stay and an Event says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gridshift import names
from gridshift.actions import kinds
from gridshift.actions.kinds import Kind, escape, get_path
from gridshift.actions.kube.client import Kube
from gridshift.actions.kube.errors import KubeError
from gridshift.actions.policy import HELD_SECONDS, RELEASED, Decision, recorded_held_seconds
from gridshift.actions.state import HoldState, decode

log = logging.getLogger(__name__)
STATE_POINTER = f"/metadata/annotations/{escape(names.ANNOTATION_STATE)}"
RELEASED_POINTER = f"/metadata/annotations/{escape(RELEASED)}"
HELD_SECONDS_POINTER = f"/metadata/annotations/{escape(HELD_SECONDS)}"


@dataclass(frozen=True)
class Outcome:
    result: str  # applied | restored | skipped | failed | dry_run
    detail: str = ""
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    error: KubeError | None = None


class Executor:
    def __init__(self, kube: Kube, *, dry_run: bool, clock: Callable[[], float]) -> None:
        self.kube = kube
        self.dry_run = dry_run
        self.clock = clock

    def apply(self, decision: Decision, obj: Mapping[str, Any]) -> Outcome:
        """`obj` is the object the decision was made on (the workload, or its HPA)."""
        kind = kinds.BY_NAME[decision.target_kind]
        try:
            if decision.verb == "hold":
                return self._hold(decision, kind, obj)
            if decision.verb == "restore":
                return self._restore(decision, kind, obj)
            if decision.verb == "resume":
                state = decode(_annotations(obj)[names.ANNOTATION_STATE])
                if self.dry_run:
                    return Outcome("dry_run", "would resume the moved Job")
                self._resume_job(decision, dict(obj), state.original)
                return Outcome("applied", decision.reason)
        except KubeError as error:
            return Outcome("failed", str(error), error=error)
        return Outcome("skipped", decision.reason)

    def _hold(self, decision: Decision, kind: Kind, obj: Mapping[str, Any]) -> Outcome:
        before = {pointer: get_path(obj, pointer) for pointer in decision.changes}
        state = HoldState(action=decision.action, original=before, applied=dict(decision.changes), since=self.clock(),
                          alert=decision.alert, zone=decision.zone, target_zone=decision.target_zone)
        operations = [*_guard(obj), *_set_fields(decision.changes), *_annotate(obj, {names.ANNOTATION_STATE: state.encode()})]
        if RELEASED in _annotations(obj):
            operations.append({"op": "remove", "path": RELEASED_POINTER})
        if self.dry_run:
            return Outcome("dry_run", f"would set {_show(decision.changes)}", before, decision.changes)
        updated = self.kube.patch(kind, decision.namespace, decision.target_name, operations)
        if kind is kinds.JOB and decision.action == "migrate":
            updated = self._resume_job(decision, updated, before)
        self._event(updated, kind, "GridshiftHeld", f"{decision.action}: {decision.reason}")
        return Outcome("applied", decision.reason, before, decision.changes)

    def _resume_job(self, decision: Decision, job: dict[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
        """Second step of moving a Job: its new node affinity is in place, let it run again."""
        suspend = kinds.JOB.suspend
        assert suspend is not None
        state = decode(_annotations(job)[names.ANNOTATION_STATE])
        applied = {**state.applied, suspend: before.get(suspend) or False}
        resumed = HoldState(**{**state.__dict__, "applied": applied})
        operations = [*_guard(job), {"op": "add", "path": suspend, "value": applied[suspend]},
                      {"op": "add", "path": STATE_POINTER, "value": resumed.encode()}]
        return self.kube.patch(kinds.JOB, decision.namespace, decision.target_name, operations)

    def _restore(self, decision: Decision, kind: Kind, obj: Mapping[str, Any]) -> Outcome:
        state = decode(_annotations(obj)[names.ANNOTATION_STATE])
        current = {pointer: get_path(obj, pointer) for pointer in state.applied}
        changed = {p for p, value in state.applied.items() if current[p] != value}
        operations = [*_guard(obj), {"op": "remove", "path": STATE_POINTER}]
        if decision.released:
            operations.append({"op": "add", "path": RELEASED_POINTER, "value": decision.alert})
        if kind is kinds.JOB:  # a Job's max-delay covers all its holds: remember this one's length
            held = recorded_held_seconds(_annotations(obj)) + max(0.0, self.clock() - state.since)
            operations.append({"op": "add", "path": HELD_SECONDS_POINTER, "value": f"{held:.0f}"})
        if changed:
            event = ("GridshiftLeftAsChanged", f"{decision.reason}; but {', '.join(sorted(changed))} changed while held: "
                     "left as set")
            result = Outcome("skipped", event[1], current, current)
        elif kind is kinds.JOB and state.action == "migrate":
            suspend = kinds.JOB.suspend
            assert suspend is not None
            operations[1:1] = _set_fields({suspend: state.original.get(suspend) or False}, obj)  # never left suspended
            event = ("GridshiftLeftInPlace", f"{decision.reason}; the Job stays in {state.target_zone}: moving it back "
                     "would restart its pods")
            result = Outcome("restored", event[1], current, current)
        else:
            operations[1:1] = _set_fields(state.original, obj)
            event = ("GridshiftRestored", f"{state.action} undone: {decision.reason}")
            result = Outcome("restored", decision.reason, current, dict(state.original))
        if self.dry_run:
            return Outcome("dry_run", f"would {event[0]}: {event[1]}", current, result.after)
        updated = self.kube.patch(kind, decision.namespace, decision.target_name, operations)
        self._event(updated, kind, *event)
        return result

    def _event(self, obj: dict[str, Any], kind: Kind, reason: str, message: str) -> None:
        try:
            self.kube.create_event(obj=obj, kind=kind, reason=reason, message=message)
        except KubeError as error:  # the change is made; a lost Event must not undo or repeat it
            log.warning("could not record Event %s on %s/%s: %s", reason, kind.name, obj.get("metadata", {}).get("name"), error)


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}


def _guard(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": obj["metadata"]["resourceVersion"]}]


def _annotate(obj: Mapping[str, Any], values: Mapping[str, str]) -> list[dict[str, Any]]:
    if not _annotations(obj) and "annotations" not in obj.get("metadata", {}):
        return [{"op": "add", "path": "/metadata/annotations", "value": dict(values)}]
    return [{"op": "add", "path": f"/metadata/annotations/{escape(key)}", "value": value} for key, value in values.items()]


def _set_fields(values: Mapping[str, Any], obj: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    operations = []
    for pointer, value in values.items():
        if value is None:
            if obj is None or get_path(obj, pointer) is not None:
                operations.append({"op": "remove", "path": pointer})
        else:
            operations.append({"op": "add", "path": pointer, "value": value})
    return operations


def _show(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{pointer}={json.dumps(value)[:60]}" for pointer, value in values.items())
