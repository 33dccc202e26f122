"""Decision -> one guarded JSON patch on the object itself, and an Event saying why.

The patch opens with a `test` of the resourceVersion the decision was made on, changes only the
fields the action changes, and writes `gridshift.io/state` in the same request, under the field
manager `gridshift`. A conflict means the object changed since it was read: nothing was written,
and the reconciler re-reads and decides again. A restore puts back exactly what the state says
gridshift changed, unless a person changed those fields while it was held: then the person's
values stay and an Event says so.

Dry runs: `client` decides and records, and sends nothing; `server` sends every patch and Event
with Kubernetes' `dryRun=All`, so RBAC and admission (Kyverno, Gatekeeper, PSA) answer as for a
real write while nothing is persisted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal

from gridshift import names
from gridshift.actions import jobs, kinds
from gridshift.actions.kinds import Kind, annotation_pointer, get_path
from gridshift.actions.kube.api import KubeApi
from gridshift.actions.kube.errors import Conflict, KubeError
from gridshift.actions.policy import RELEASED, Decision, Verb
from gridshift.actions.state import HoldState, iso

log = logging.getLogger(__name__)
STATE_POINTER = annotation_pointer(names.ANNOTATION_STATE)
RELEASED_POINTER = annotation_pointer(RELEASED)
HELD_SECONDS_POINTER = annotation_pointer(jobs.HELD_SECONDS)
DryRun = Literal["", "client", "server"]


class Result(StrEnum):
    APPLIED = "applied"  # a hold (or the resume of a moved Job) written
    RESTORED = "restored"  # a hold undone
    SKIPPED = "skipped"  # nothing written, with the reason
    FAILED = "failed"  # the API refused or failed: nothing written
    DRY_RUN = "dry_run"  # what would have been written (client), or what the API accepted without keeping (server)


@dataclass(frozen=True)
class Outcome:
    result: Result
    detail: str = ""
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    error: KubeError | None = None
    dry_run: DryRun = ""  # how the write was tried when nothing was persisted


def dry_run_mode(value: bool | str) -> DryRun:
    """`actions.dry_run` (a bool) or a `--dry-run` value: "" (act), "client" or "server"."""
    if value in (False, "", None):
        return ""
    if value is True or value == "client":
        return "client"
    if value == "server":
        return "server"
    raise ValueError(f"dry run {value!r}: expected client or server")


class Executor:
    def __init__(self, kube: KubeApi, *, dry_run: bool | str, clock: Callable[[], float]) -> None:
        self.kube = kube
        self.dry_run = dry_run_mode(dry_run)
        self.clock = clock
        # (namespace, kind, name) -> the start of the hold whose GridshiftHeld Event is known to be
        # recorded (one entry an object). A hold's Event has a name of its own, so one lost between
        # the patch and the Event (a crash, a refused write) is written at a later pass, once
        # (issue 19 defect 7).
        self._held_events: dict[tuple[str, str, str], int] = {}

    def ensure_hold_event(self, decision: Decision) -> None:
        """For a hold kept: its GridshiftHeld Event, unless known to be recorded (a 409 says it is)."""
        if self.dry_run or decision.target is None or decision.state is None:
            return
        obj, kind, state = dict(decision.target.obj), decision.target.kind, decision.state
        key = _object_key(kind, obj)
        if self._held_events.get(key) == int(state.since):
            return
        try:
            self.kube.create_event(obj=obj, kind=kind, reason="GridshiftHeld", name=hold_event_name(obj, state.since),
                                   message=f"{state.action}: held since {iso(state.since)} (recorded at a later pass: "
                                           "the service restarted, or the first write of this Event failed)")
        except Conflict:
            pass  # written when the hold was: nothing was lost
        except KubeError as error:
            log.warning("could not record the Event of the hold of %s/%s: %s", kind.name, key[2], error)
            return
        self._held_events[key] = int(state.since)

    def apply(self, decision: Decision) -> Outcome:
        """Patch the decision's target, as it was read when the decision was made."""
        target = decision.target
        if target is None or decision.verb not in (Verb.HOLD, Verb.RESTORE, Verb.RESUME, Verb.START, Verb.RESIZE):
            return Outcome(Result.SKIPPED, decision.reason)
        try:
            if decision.verb == Verb.HOLD:
                return self._hold(decision, target.kind, target.obj)
            if decision.verb == Verb.START:
                return self._start(decision, target.kind, target.obj)
            state = decision.state
            assert state is not None, "restore, resume and resize decisions carry the state they undo or write"
            if decision.verb == Verb.RESIZE:
                return self._resize(decision, target.kind, target.obj, state)
            if decision.verb == Verb.RESTORE:
                return self._restore(decision, target.kind, target.obj, state)
            if self.dry_run == "client":
                return Outcome(Result.DRY_RUN, "would resume the moved Job", dry_run="client")
            self._resume_job(decision, dict(target.obj), state)
            return self._as_dry_run(Outcome(Result.APPLIED, decision.reason), "resume the moved Job")
        except KubeError as error:
            if self.dry_run == "server":
                return Outcome(Result.FAILED, f"server dry run refused: {error}", error=error, dry_run="server")
            return Outcome(Result.FAILED, str(error), error=error)

    def _hold(self, decision: Decision, kind: Kind, obj: Mapping[str, Any]) -> Outcome:
        before = {pointer: get_path(obj, pointer) for pointer in decision.changes}
        now = self.clock()
        state = HoldState(action=decision.action, original=before, applied=dict(decision.changes), since=now,
                          alert=decision.alert, zone=decision.zone, target_zone=decision.target_zone,
                          work_done=decision.work_done, accounted_at=now if decision.elastic is not None else None)
        # The state first: it creates the annotations map when there is none, so a change that is
        # itself an annotation (KEDA's paused-replicas) has a parent to be added to.
        operations = [*_guard(obj), *_annotate(obj, {names.ANNOTATION_STATE: state.encode()}), *_set_fields(decision.changes)]
        if RELEASED in _annotations(obj):
            operations.append({"op": "remove", "path": RELEASED_POINTER})
        preview = f"set {_show(decision.changes)}"
        if self.dry_run == "client":
            return Outcome(Result.DRY_RUN, f"would {preview}", before, decision.changes, dry_run="client")
        updated = self._patch(kind, decision, operations)
        if jobs.resumes_after_hold(kind, decision.action) and not self.dry_run:
            updated = self._resume_job(decision, updated, state)  # a dry run persisted no first step to resume
        note = self._event(updated, kind, "GridshiftHeld", f"{decision.action}: {decision.reason}",
                           name=hold_event_name(updated, state.since))
        if note is None and not self.dry_run:
            self._held_events[_object_key(kind, updated)] = int(state.since)
        return self._as_dry_run(Outcome(Result.APPLIED, decision.reason, before, decision.changes), preview + (note or ""))

    def _start(self, decision: Decision, kind: Kind, obj: Mapping[str, Any]) -> Outcome:
        """Start a Job that waited suspended for its window: nothing to restore later, so no state."""
        return self._set(decision, kind, obj, [], "GridshiftStarted")

    def _resize(self, decision: Decision, kind: Kind, obj: Mapping[str, Any], state: HoldState) -> Outcome:
        """Elastic: the width its schedule gives now, and the state that records it (the same
        original, the new width applied, the work done so far), in one guarded patch."""
        return self._set(decision, kind, obj, [{"op": "add", "path": STATE_POINTER, "value": state.encode()}],
                         "GridshiftResized")

    def _set(self, decision: Decision, kind: Kind, obj: Mapping[str, Any], also: list[dict[str, Any]],
             event: str) -> Outcome:
        """The decision's fields (and `also`) in one guarded patch, and an Event `event` saying why."""
        before = {pointer: get_path(obj, pointer) for pointer in decision.changes}
        preview = f"set {_show(decision.changes)}"
        if self.dry_run == "client":
            return Outcome(Result.DRY_RUN, f"would {preview}", before, decision.changes, dry_run="client")
        updated = self._patch(kind, decision, [*_guard(obj), *_set_fields(decision.changes), *also])
        note = self._event(updated, kind, event, decision.reason) or ""
        return self._as_dry_run(Outcome(Result.APPLIED, decision.reason, before, decision.changes), preview + note)

    def announce(self, decision: Decision, kind: Kind, obj: Mapping[str, Any]) -> None:
        """An Event for a plan that changes nothing on the object (a Job that waits, a hold kept
        for a later window), so `kubectl describe` shows when and why."""
        if self.dry_run != "client":
            self._event(dict(obj), kind, "GridshiftPlanned", decision.reason)

    def _resume_job(self, decision: Decision, job: dict[str, Any], state: HoldState) -> dict[str, Any]:
        """Second step of moving a Job: its new node affinity is in place, let it run again."""
        resume = jobs.unsuspended(state.original)
        resumed = replace(state, applied={**state.applied, **resume})
        operations = [*_guard(job), *_set_fields(resume), {"op": "add", "path": STATE_POINTER, "value": resumed.encode()}]
        return self._patch(kinds.JOB, decision, operations)

    def _restore(self, decision: Decision, kind: Kind, obj: Mapping[str, Any], state: HoldState) -> Outcome:
        self._held_events.pop(_object_key(kind, obj), None)  # the hold ends: nothing of it to record
        current = {pointer: get_path(obj, pointer) for pointer in state.applied}
        changed = {p for p, value in state.applied.items() if current[p] != value}
        operations = [*_guard(obj), {"op": "remove", "path": STATE_POINTER}]
        if decision.released:
            operations.append({"op": "add", "path": RELEASED_POINTER, "value": decision.alert})
        held = jobs.held_seconds_after(kind, _annotations(obj), state, self.clock())
        if held is not None:  # a Job's max-delay covers all its holds: remember this one's length
            operations.append({"op": "add", "path": HELD_SECONDS_POINTER, "value": held})
        if changed:
            event = ("GridshiftLeftAsChanged", f"{decision.reason}; but {', '.join(sorted(changed))} changed while held: "
                     "left as set")
            result = Outcome(Result.SKIPPED, event[1], current, current)
        elif jobs.stays_in_place(kind, state):
            operations[1:1] = _set_fields(jobs.unsuspended(state.original), obj)  # never left suspended
            event = ("GridshiftLeftInPlace", f"{decision.reason}; the Job stays in {state.target_zone}: moving it back "
                     "would restart its pods")
            result = Outcome(Result.RESTORED, event[1], current, current)
        else:
            operations[1:1] = _set_fields(state.original, obj)
            event = ("GridshiftRestored", f"{state.action} undone: {decision.reason}")
            result = Outcome(Result.RESTORED, decision.reason, current, dict(state.original))
        preview = f"{event[0]}: {event[1]}"
        if self.dry_run == "client":
            return Outcome(Result.DRY_RUN, f"would {preview}", current, result.after, dry_run="client")
        updated = self._patch(kind, decision, operations)
        note = self._event(updated, kind, *event) or ""
        return self._as_dry_run(result, preview + note)

    def _patch(self, kind: Kind, decision: Decision, operations: list[dict[str, Any]]) -> dict[str, Any]:
        if self.dry_run == "server":
            return self.kube.patch(kind, decision.namespace, _name(decision), operations, dry_run=True)
        return self.kube.patch(kind, decision.namespace, _name(decision), operations)

    def _as_dry_run(self, done: Outcome, preview: str) -> Outcome:
        """A server dry run's outcome: what a real run would have done, accepted by the API, not persisted."""
        if self.dry_run != "server":
            return done
        return replace(done, result=Result.DRY_RUN, detail=f"server dry run accepted: would {preview}", dry_run="server")

    def _event(self, obj: dict[str, Any], kind: Kind, reason: str, message: str, *, name: str | None = None) -> str | None:
        """Record the Event: None when it was, else a note for the outcome (empty but for a server
        dry run, whose outcome says so; a real run logs it, and a hold's Event is tried again later)."""
        try:
            self.kube.create_event(obj=obj, kind=kind, reason=reason, message=message, dry_run=self.dry_run == "server",
                                   name=name)
        except KubeError as error:  # the change is made; a lost Event must not undo or repeat it
            log.warning("could not record Event %s on %s/%s: %s", reason, kind.name, obj.get("metadata", {}).get("name"), error)
            return f" (but its Event was refused: {error})" if self.dry_run == "server" else ""
        return None


def hold_event_name(obj: Mapping[str, Any], since: float) -> str:
    """The GridshiftHeld Event's own name: one per hold (the object and the hold's start)."""
    return f"{obj.get('metadata', {}).get('name', 'gridshift')}.gridshift-held-{int(since)}"


def _object_key(kind: Kind, obj: Mapping[str, Any]) -> tuple[str, str, str]:
    metadata = obj.get("metadata", {})
    return (str(metadata.get("namespace", "")), kind.name, str(metadata.get("name", "")))


def _name(decision: Decision) -> str:
    assert decision.target is not None
    return decision.target.name


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}


def _guard(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": obj["metadata"]["resourceVersion"]}]


def _annotate(obj: Mapping[str, Any], values: Mapping[str, str]) -> list[dict[str, Any]]:
    if not _annotations(obj) and "annotations" not in obj.get("metadata", {}):
        return [{"op": "add", "path": "/metadata/annotations", "value": dict(values)}]
    return [{"op": "add", "path": annotation_pointer(key), "value": value} for key, value in values.items()]


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
