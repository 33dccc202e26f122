"""`gridshift actions restore`: undo every hold gridshift has recorded, whatever the alerts say.

The way out when the service is uninstalled or stays down. Every object that carries
`gridshift.io/state` (Deployments, StatefulSets, CronJobs, Jobs, HPAs whose bounds were lowered,
KEDA ScaledObjects, Karmada PropagationPolicies when configured), in every namespace or in one,
opted in or not any more, is restored through the executor's own restore path: the same guarded
patch, the same "a person's edit wins" rule, the same Event. A state it cannot read is reported
and that object is left exactly as it is; the others are still restored. A restored object
carries no state, so a second run finds nothing to do and says so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gridshift import names
from gridshift.actions import kinds, quiesce
from gridshift.actions.executor import DryRun, Executor, Outcome, Result
from gridshift.actions.kinds import Kind
from gridshift.actions.kube.client import Kube, list_in
from gridshift.actions.kube.errors import Conflict, KubeError, NotFound
from gridshift.actions.policy import restore_decision
from gridshift.actions.state import StateError, decode

REASON = "restored by `gridshift actions restore`"
CONFLICT_RETRIES = 3
CRD_KINDS = (kinds.SCALED_OBJECT, kinds.PROPAGATION_POLICY)  # absent (404) when their CRD is not installed
LABELS = {"restored": "restored", "left": "left as a person changed them (state removed)", "dry_run": "accepted in a dry run",
          "skipped": "skipped", "failed": "failed"}


@dataclass(frozen=True)
class Line:
    result: str  # restored | left | dry_run | skipped | failed
    kind: str
    namespace: str
    name: str
    detail: str

    def render(self) -> str:
        return f"{self.result:<8} {self.kind} {self.namespace}/{self.name}: {self.detail}"


@dataclass(frozen=True)
class Report:
    lines: tuple[Line, ...]
    scope: str  # "all namespaces" or "namespace N"

    @property
    def failed(self) -> int:
        return sum(line.result == "failed" for line in self.lines)

    def summary(self) -> str:
        if not self.lines:
            return f"nothing to restore in {self.scope}: no object carries {names.ANNOTATION_STATE}"
        counts = Counter(line.result for line in self.lines)
        parts = ", ".join(f"{counts[result]} {label}" for result, label in LABELS.items() if counts[result])
        return f"{len(self.lines)} held in {self.scope}: {parts}"


def restore_held(*, kube: Kube, executor: Executor, namespaces: tuple[str, ...], holder_kinds: tuple[Kind, ...],
                 protected: frozenset[str]) -> Report:
    """Restore every object of `holder_kinds` that carries a state, in `namespaces` (everywhere when empty)."""
    lines: list[Line] = []
    for kind in holder_kinds:
        try:
            objects = _list(kube, kind, namespaces)
        except KubeError as error:  # cannot tell what is held there: a failure, not "nothing held"
            lines.append(Line("failed", kind.name, ",".join(namespaces) or "*", "*", f"cannot list {kind.plural}: {error}"))
            continue
        for obj in objects:
            if names.ANNOTATION_STATE in _annotations(obj):
                lines.append(_restore_one(kube, executor, kind, obj, protected))
    return Report(tuple(lines), _scope(namespaces))


def _scope(namespaces: tuple[str, ...]) -> str:
    if not namespaces:
        return "all namespaces"
    return f"namespace {namespaces[0]}" if len(namespaces) == 1 else f"namespaces {', '.join(namespaces)}"


def holder_kinds(*, karmada: bool) -> tuple[Kind, ...]:
    """Every kind a hold records its state on; Karmada's only when it is configured (and granted)."""
    return (*kinds.WORKLOAD_KINDS, kinds.HPA, kinds.SCALED_OBJECT, *((kinds.PROPAGATION_POLICY,) if karmada else ()))


def _list(kube: Kube, kind: Kind, namespaces: tuple[str, ...]) -> list[dict[str, Any]]:
    try:
        return list_in(kube, kind, namespaces)
    except NotFound:
        if kind in CRD_KINDS:
            return []
        raise


def _restore_one(kube: Kube, executor: Executor, kind: Kind, obj: Mapping[str, Any], protected: frozenset[str]) -> Line:
    meta = obj.get("metadata", {})
    namespace, name = meta.get("namespace", ""), meta.get("name", "")

    def done(result: str, detail: str) -> Line:
        return Line(result, kind.name, namespace, name, detail)

    if namespace in protected:
        return done("skipped", "the namespace is protected: gridshift never holds anything there, so this state "
                    "was copied; left as it is")
    for attempt in range(CONFLICT_RETRIES):
        try:
            state = decode(_annotations(obj)[names.ANNOTATION_STATE])
        except StateError as error:
            return done("failed", f"{error}; nothing changed on it")
        outcome = executor.apply(restore_decision(kind, obj, state, REASON))
        if not isinstance(outcome.error, Conflict) or attempt + 1 == CONFLICT_RETRIES:
            return done(*_describe(outcome))
        try:  # it changed since it was listed: decide again on what it is now
            obj = kube.get(kind, namespace, name)
        except NotFound:
            return done("skipped", "deleted meanwhile")
        except KubeError as error:
            return done("failed", f"re-reading it after a conflict: {error}")
        if names.ANNOTATION_STATE not in _annotations(obj):
            return done("skipped", "no longer held (restored meanwhile)")
    raise AssertionError("unreachable: the last attempt returns")


def _describe(outcome: Outcome) -> tuple[str, str]:
    if outcome.result == Result.RESTORED:
        return "restored", _changes(outcome.before or {}, outcome.after or {}) or outcome.detail
    if outcome.result == Result.SKIPPED:
        return "left", outcome.detail
    return str(outcome.result), outcome.detail


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    shown = [f"{pointer} {_value(before.get(pointer))} -> {_value(after.get(pointer))}"
             for pointer in after if before.get(pointer) != after.get(pointer)]
    return ", ".join(shown)


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}


def run_restore(*, kube: Kube, namespaces: tuple[str, ...], dry_run: DryRun, karmada: bool, protected: frozenset[str],
                clock: Callable[[], float], out: Callable[[str], None], stop: tuple[str, str] | None = None,
                stop_service: Callable[[Kube, str, str], quiesce.StoppedService] = quiesce.stop_service) -> int:
    """Restore in `namespaces` (every namespace when empty), print one line per held object and a summary;
    0 when nothing failed, else 1. `stop`: the action service's Deployment (namespace, name), stopped
    first so it cannot hold again what is restored, and started again when the restore fails."""
    if stop is None or dry_run:
        return _restore_and_report(kube=kube, namespaces=namespaces, dry_run=dry_run, karmada=karmada,
                                   protected=protected, clock=clock, out=out)
    try:
        stopped = stop_service(kube, *stop)
    except quiesce.QuiesceError as error:
        out(f"gridshift actions restore: {error}")
        return 1
    out(f"gridshift actions restore: stopped the action service {stopped.namespace}/{stopped.name} "
        f"(it ran {stopped.replicas} replica(s))")
    code = _restore_and_report(kube=kube, namespaces=namespaces, dry_run=dry_run, karmada=karmada,
                               protected=protected, clock=clock, out=out)
    if code:
        quiesce.start_service(kube, stopped)
        out(f"gridshift actions restore: started the action service again ({stopped.replicas} replica(s)): "
            "what could not be restored stays held by it")
    return code


def _restore_and_report(*, kube: Kube, namespaces: tuple[str, ...], dry_run: DryRun, karmada: bool,
                        protected: frozenset[str], clock: Callable[[], float], out: Callable[[str], None]) -> int:
    executor = Executor(kube, dry_run=dry_run, clock=clock)
    report = restore_held(kube=kube, executor=executor, namespaces=namespaces, holder_kinds=holder_kinds(karmada=karmada),
                          protected=protected)
    for line in report.lines:
        out(line.render())
    mode = f" ({dry_run} dry run: nothing persisted)" if dry_run else ""
    out(f"gridshift actions restore{mode}: {report.summary()}")
    return 1 if report.failed else 0
