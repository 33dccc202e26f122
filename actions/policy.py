"""Alerts + annotations + now -> what should happen to each workload. Pure.

Level-triggered: the decision depends only on what is true now (active alerts, the object and
its state annotation), never on which notification arrived, so duplicated, repeated, grouped
or reordered notifications decide the same thing, and a restart loses nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from gridshift import names
from gridshift.actions import elastic, elastic_work, jobs, keda, kinds, planner, plans
from gridshift.actions.alerts import Alert
from gridshift.actions.elastic import ElasticPlan, Scaling, ScalingError
from gridshift.actions.kinds import Kind, get_path
from gridshift.actions.planner import Plan, PlannerSettings
from gridshift.actions.state import Action, HoldState, StateError, decode
from gridshift.durations import DurationError, parse_duration

HOLD_ACTIONS = (Action.PAUSE, Action.SCALE_DOWN, Action.MIGRATE)
ACTION_VALUES = (*HOLD_ACTIONS, Action.ELASTIC, "none")
LEVEL_RANK = plans.LEVEL_RANK
RELEASED = names.ANNOTATION_RELEASED



class Verb(StrEnum):
    HOLD = "hold"  # change the target and record the state on it
    RESTORE = "restore"  # undo what the state on the target records
    RESUME = "resume"  # finish moving a Job (its second write)
    KEEP = "keep"  # held, and stays so
    SKIP = "skip"  # left alone, with the reason
    WAIT = "wait"  # a Job created suspended waits for its planned window: nothing written
    START = "start"  # start a Job that waited suspended for its planned window
    RESIZE = "resize"  # elastic: set the width its schedule gives now, and record it in its state


class PolicyError(ValueError):
    """An annotation value gridshift cannot use; the object is left alone and the reason reported."""


@dataclass(frozen=True)
class Policy:
    action: str = "none"
    level: str = "high"
    min_replicas: int = 1
    scale_factor: float = 0.5
    max_delay_seconds: float = 24 * 3600.0
    on_green: str = ""
    max_replicas: int | None = None
    interruptible: bool = True
    fallback: str = "none"
    excluded: bool = False
    duration_seconds: float | None = None  # gridshift.io/duration: a run's expected length
    deadline: float | None = None  # gridshift.io/deadline: epoch seconds by which a Job must be done
    scaling: Scaling | None = None  # elastic: gridshift.io/scaling, read for max-replicas
    work_seconds: float | None = None  # elastic: gridshift.io/work, replica-hours (as a duration) to deliver


def effective_policy(namespace: Mapping[str, str], workload: Mapping[str, str]) -> Policy:
    """The namespace's annotations, overridden by the workload's own."""
    merged = {**namespace, **{k: v for k, v in workload.items() if k != names.ANNOTATION_EXCLUDE}}
    action = merged.get(names.ANNOTATION_ACTION, "none").strip()
    if action not in ACTION_VALUES:
        raise PolicyError(f"{names.ANNOTATION_ACTION}={action[:40]!r}: expected one of {', '.join(ACTION_VALUES)}")
    level = merged.get(names.ANNOTATION_LEVEL, "high").strip()
    if level not in LEVEL_RANK:
        raise PolicyError(f"{names.ANNOTATION_LEVEL}={level[:40]!r}: expected high or critical")
    fallback = merged.get(names.ANNOTATION_FALLBACK, "none").strip()
    if fallback not in ("pause", "scale-down", "none"):
        raise PolicyError(f"{names.ANNOTATION_FALLBACK}={fallback[:40]!r}: expected pause, scale-down or none")
    on_green = merged.get(names.ANNOTATION_ON_GREEN, "").strip()
    if on_green not in ("", "scale-up"):
        raise PolicyError(f"{names.ANNOTATION_ON_GREEN}={on_green[:40]!r}: expected scale-up")
    start = workload.get(names.ANNOTATION_START)
    if start is not None and start.strip() != jobs.START_PLANNED:
        raise PolicyError(f"{names.ANNOTATION_START}={start[:40]!r}: expected {jobs.START_PLANNED}")
    max_replicas = _integer(merged, names.ANNOTATION_MAX_REPLICAS, None, minimum=1)
    if on_green and max_replicas is None:
        raise PolicyError(f"{names.ANNOTATION_ON_GREEN}=scale-up needs {names.ANNOTATION_MAX_REPLICAS}")
    scaling = _scaling(merged, max_replicas) if action == Action.ELASTIC else None
    return Policy(
        action=action, level=level, fallback=fallback, on_green=on_green, max_replicas=max_replicas,
        min_replicas=_integer(merged, names.ANNOTATION_MIN_REPLICAS, 1, minimum=0) or 0,
        scale_factor=_factor(merged.get(names.ANNOTATION_SCALE_FACTOR, "0.5")),
        max_delay_seconds=_duration(names.ANNOTATION_MAX_DELAY, merged.get(names.ANNOTATION_MAX_DELAY, "24h")),
        interruptible=merged.get(names.ANNOTATION_INTERRUPTIBLE, "true").strip().lower() != "false",
        excluded=workload.get(names.ANNOTATION_EXCLUDE, "false").strip().lower() != "false",
        duration_seconds=_run_length(merged.get(names.ANNOTATION_DURATION)),
        deadline=_deadline(workload.get(names.ANNOTATION_DEADLINE)),
        scaling=scaling,
        work_seconds=_run_length(merged.get(names.ANNOTATION_WORK), names.ANNOTATION_WORK),
    )


def _scaling(values: Mapping[str, str], max_replicas: int | None) -> Scaling:
    if max_replicas is None:
        raise PolicyError(f"{names.ANNOTATION_ACTION}=elastic needs {names.ANNOTATION_MAX_REPLICAS}: the widest it may run")
    try:
        return Scaling.parse(values.get(names.ANNOTATION_SCALING), max_replicas)
    except ScalingError as error:
        raise PolicyError(f"{names.ANNOTATION_SCALING}: {error}") from None


def _integer(values: Mapping[str, str], key: str, default: int | None, *, minimum: int) -> int | None:
    if key not in values:
        return default
    try:
        number = int(values[key].strip())
    except ValueError:
        raise PolicyError(f"{key}={values[key][:40]!r}: expected an integer") from None
    if number < minimum:
        raise PolicyError(f"{key}={number}: must be at least {minimum}")
    return number


def _factor(text: str) -> float:
    try:
        factor = float(text.strip())
    except ValueError:
        raise PolicyError(f"{names.ANNOTATION_SCALE_FACTOR}={text[:40]!r}: expected a number") from None
    if not 0 < factor < 1:
        raise PolicyError(f"{names.ANNOTATION_SCALE_FACTOR}={factor}: expected 0 < factor < 1")
    return factor


def _run_length(text: str | None, key: str = names.ANNOTATION_DURATION) -> float | None:
    if text is None:
        return None
    seconds = _duration(key, text)
    if seconds <= 0:
        raise PolicyError(f"{key}={text[:40]!r}: must be longer than 0")
    return seconds


def _deadline(text: str | None) -> float | None:
    """An absolute deadline, on the workload only (a namespace-wide moment would be meaningless)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PolicyError(f"{names.ANNOTATION_DEADLINE}={text[:40]!r}: expected an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise PolicyError(f"{names.ANNOTATION_DEADLINE}={text[:40]!r}: give a time zone (e.g. 2026-12-03T06:00Z)")
    return moment.timestamp()


def _duration(key: str, text: str) -> float:
    try:
        return parse_duration(text)
    except DurationError as error:
        raise PolicyError(f"{key}: {error}") from None


# --- what the policy reads -------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    kind: Kind
    namespace: str
    name: str
    obj: Mapping[str, Any]  # as read from the API
    hpa: Mapping[str, Any] | None = None  # an HPA that targets it
    propagation: Mapping[str, Any] | None = None  # a Karmada PropagationPolicy that places it
    scaled_object: Mapping[str, Any] | None = None  # a KEDA ScaledObject that scales it

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.obj.get("metadata", {}).get("annotations") or {}

    def holders(self) -> tuple[tuple[Kind, Mapping[str, Any] | None], ...]:
        """The objects besides the workload that a hold may patch (and record its state on)."""
        return ((kinds.HPA, self.hpa), (kinds.SCALED_OBJECT, self.scaled_object),
                (kinds.PROPAGATION_POLICY, self.propagation))

    def target(self, kind: Kind) -> Mapping[str, Any]:
        """This workload's object of `kind`: one of the holders, else the workload itself."""
        return next((obj for holder_kind, obj in self.holders() if holder_kind is kind and obj is not None), self.obj)

    @property
    def owned_by_cronjob(self) -> bool:
        owners = self.obj.get("metadata", {}).get("ownerReferences") or []
        return any(owner.get("kind") == "CronJob" for owner in owners)


@dataclass(frozen=True)
class NamespaceView:
    name: str
    annotations: Mapping[str, str]
    zone: str | None
    workloads: tuple[Workload, ...] = ()
    untargeted: tuple[Mapping[str, Any], ...] = ()  # KEDA ScaledObjects that name no workload
    run_seconds: Mapping[str, float] = field(default_factory=dict)  # CronJob -> its runs' learned length


@dataclass(frozen=True)
class MigrationTarget:
    zone: str
    label: str  # node label that selects the zone's nodes
    values: tuple[str, ...]
    grams_per_kwh: float


@dataclass(frozen=True)
class ClusterTarget:
    """Karmada: the member clusters of the greenest zone."""

    zone: str
    clusters: tuple[str, ...]
    grams_per_kwh: float


@dataclass(frozen=True)
class Context:
    now: float
    alerts: Sequence[Alert]
    protected: frozenset[str] = frozenset()
    migration_targets: Mapping[str, MigrationTarget] = field(default_factory=dict)  # alerting zone -> greener
    cluster_targets: Mapping[str, ClusterTarget] = field(default_factory=dict)  # alerting zone -> greener clusters
    hold_lead_seconds: float = jobs.CRONJOB_HOLD_LEAD_SECONDS  # a CronJob is held from this long before its next run
    forecasts: Mapping[str, planner.Forecast] = field(default_factory=dict)  # zone -> its forecast, for plans
    planner: PlannerSettings = PlannerSettings()
    default_duration_seconds: float = 3600.0  # a run's length when nothing else tells it
    alerts_known: bool = True  # False after a start until the first webhook or Alertmanager sync


@dataclass(frozen=True)
class Target:
    """The object a decision patches, as it was read when the decision was made."""

    kind: Kind
    obj: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.obj.get("metadata", {}).get("name", ""))


@dataclass(frozen=True)
class Decision:
    verb: Verb
    kind: Kind  # the workload's
    namespace: str
    name: str
    reason: str
    action: str = ""
    target: Target | None = None  # what hold, restore and resume patch: the workload, or its HPA, ScaledObject...
    state: HoldState | None = None  # restore and resume: the hold as recorded on the target (decoded once, here)
    changes: Mapping[str, Any] = field(default_factory=dict)  # hold: JSON pointer -> new value
    alert: str = ""  # fingerprint@startsAt
    zone: str = ""
    target_zone: str = ""
    released: bool = False  # restore because max-delay passed: remember the alert
    plan: Plan | None = None  # when the work is planned to run, and why
    elastic: ElasticPlan | None = None  # elastic: its width schedule from now
    work_done: float = 0.0  # elastic hold: hours of work done before gridshift first sizes it


def protected_namespaces(configured: Sequence[str], release_namespace: str) -> frozenset[str]:
    """Never touched: the configured list and the release's own namespace."""
    return frozenset(configured) | ({release_namespace} if release_namespace else frozenset())


def alert_id(alert: Alert) -> str:
    return f"{alert.fingerprint}@{int(alert.starts_at)}"


def decide_namespace(namespace: NamespaceView, context: Context) -> list[Decision]:
    return [d for w in namespace.workloads if (d := decide(namespace, w, context)) is not None]


def decide(namespace: NamespaceView, workload: Workload, context: Context) -> Decision | None:
    base: dict[str, Any] = {"kind": workload.kind, "namespace": workload.namespace, "name": workload.name}
    holder_kind, holder = _holder(workload)
    try:
        state = _state(holder)
    except StateError as error:
        return Decision(Verb.SKIP, reason=f"left alone: {error}", **base)
    try:
        policy = effective_policy(namespace.annotations, workload.annotations)
    except PolicyError as error:
        if state is not None:  # a broken annotation must not strand a held workload
            return _restore(base, holder_kind, holder, state, f"restored: annotation unusable ({error})")
        if jobs.waits_for_start(workload.kind, workload.obj, workload.annotations):
            return _start(base, workload, f"started at once: annotation unusable ({error})")
        return Decision(Verb.SKIP, reason=f"left alone: {error}", **base)
    refusal = _not_opted_in(namespace, policy, context)
    waits = jobs.waits_for_start(workload.kind, workload.obj, workload.annotations)
    if (policy.action == Action.ELASTIC and not waits) or (state is not None and state.action == Action.ELASTIC):
        return _elastic(base, namespace, workload, policy, state, refusal, context)  # started first, if it waits
    if state is not None:
        return _while_held(base, namespace, workload, policy, state, holder_kind, holder, refusal, context)
    if waits:
        return _arrival(base, namespace, workload, policy, refusal, context)
    if refusal is not None:
        return None
    return _maybe_hold(base, namespace, workload, policy, context)


def decide_untargeted(scaled_object: Mapping[str, Any]) -> Decision:
    """A ScaledObject that names no workload: nothing is held through it. A hold recorded on it
    (its target was removed while held) is undone, since no workload is held through it any more."""
    meta = scaled_object.get("metadata", {})
    base: dict[str, Any] = {"kind": kinds.SCALED_OBJECT, "namespace": meta.get("namespace", ""), "name": meta.get("name", "")}
    try:
        state = _state(scaled_object)
    except StateError as error:
        return Decision(Verb.SKIP, reason=f"left alone: {error}", **base)
    if state is None:
        return Decision(Verb.SKIP, reason=keda.untargeted_reason(scaled_object), **base)
    return _restore(base, kinds.SCALED_OBJECT, scaled_object, state, "restored: the ScaledObject names no workload any more")


def restore_decision(kind: Kind, obj: Mapping[str, Any], state: HoldState, reason: str) -> Decision:
    """Undo the hold recorded on `obj`, whatever the alerts (the `restore` command)."""
    meta = obj.get("metadata", {})
    return _restore({"kind": kind, "namespace": meta.get("namespace", ""), "name": meta.get("name", "")},
                    kind, obj, state, reason)


def _holder(workload: Workload) -> tuple[Kind, Mapping[str, Any]]:
    """The object whose state annotation records the hold: an HPA, ScaledObject or PropagationPolicy if one carries it."""
    for kind, obj in workload.holders():
        if obj is not None and names.ANNOTATION_STATE in (obj.get("metadata", {}).get("annotations") or {}):
            return kind, obj
    return workload.kind, workload.obj


def _state(obj: Mapping[str, Any]) -> HoldState | None:
    text = (obj.get("metadata", {}).get("annotations") or {}).get(names.ANNOTATION_STATE)
    return decode(text) if text is not None else None


def _not_opted_in(namespace: NamespaceView, policy: Policy, context: Context) -> str | None:
    if namespace.name in context.protected:
        return "the namespace is protected"
    if policy.excluded:
        return f"{names.ANNOTATION_EXCLUDE} is set"
    if policy.action == "none" and not policy.on_green:
        return f"{names.ANNOTATION_ACTION} is none or absent"
    return None


def _triggers(namespace: NamespaceView, policy: Policy, action: str, context: Context) -> list[Alert]:
    if namespace.zone is None:
        return []
    in_zone = [a for a in context.alerts if a.zone == namespace.zone]
    if action == "scale-up":
        return [a for a in in_zone if a.level == "low"]
    floor = LEVEL_RANK[policy.level]
    found = [a for a in in_zone if LEVEL_RANK.get(a.level or "", 0) >= floor]
    return sorted(found, key=lambda a: (-LEVEL_RANK[a.level or "high"], a.starts_at))


def _while_held(base: dict[str, Any], namespace: NamespaceView, workload: Workload, policy: Policy, state: HoldState,
                holder_kind: Kind, holder: Mapping[str, Any], refusal: str | None, context: Context) -> Decision:
    if refusal is not None:
        return _restore(base, holder_kind, holder, state, f"restored: {refusal}")
    if state.action != "scale-up" and context.now >= hold_expires_at(workload, policy, state):
        hours = policy.max_delay_seconds / 3600
        total = " in total" if held_before(workload) else ""
        decision = _restore(base, holder_kind, holder, state,
                            f"restored: held for max-delay ({hours:g} h){total}, whatever the intensity")
        return replace(decision, released=True)
    forecast = _forecast(namespace, workload, policy, context)
    if forecast is not None:
        return _replan(base, namespace, workload, policy, state, holder_kind, holder, forecast, context)
    if _triggers(namespace, policy, state.action, context):
        if jobs.moved_and_suspended(holder_kind, state):
            # Moving a Job is two writes; the second (resume) failed last time: finish it.
            return Decision(Verb.RESUME, reason="resuming the moved Job", action=state.action, alert=state.alert,
                            target=Target(kinds.JOB, workload.obj), state=state, **base)
        return Decision(Verb.KEEP, reason="the alert is still active", action=state.action, alert=state.alert,
                        target=Target(holder_kind, holder), state=state, **base)
    if not context.alerts_known:
        return Decision(Verb.KEEP, reason="kept held: no alert has been received since the service started (the first "
                        "webhook or Alertmanager sync says whether it resolved; max-delay still bounds the hold)",
                        action=state.action, alert=state.alert, target=Target(holder_kind, holder), state=state, **base)
    return _restore(base, holder_kind, holder, state, "restored: the alert resolved")


def held_before(workload: Workload) -> float:
    return jobs.held_before(workload.kind, workload.annotations)


def hold_expires_at(workload: Workload, policy: Policy, state: HoldState) -> float:
    """When a hold is restored whatever the intensity: max-delay after it began, less a Job's earlier holds."""
    return state.since + policy.max_delay_seconds - held_before(workload)


def restore_deadline(namespace: NamespaceView, workload: Workload, state: HoldState) -> float:
    """By when a held workload must run again: the end of its max-delay, or its own deadline if
    sooner; a workload whose annotations cannot be read comes first."""
    try:
        policy = effective_policy(namespace.annotations, workload.annotations)
    except PolicyError:
        return float("-inf")
    expires = hold_expires_at(workload, policy, state)
    return min(expires, policy.deadline) if policy.deadline is not None else expires


def hold_from(workload: Workload, policy: Policy, now: float, lead: float = jobs.CRONJOB_HOLD_LEAD_SECONDS) -> float | None:
    """When holding the workload starts to be worth it (jobs.hold_from); None: at once."""
    return jobs.hold_from(workload.kind, workload.obj, policy.action, now, lead)


def _restore(base: dict[str, Any], holder_kind: Kind, holder: Mapping[str, Any], state: HoldState, reason: str) -> Decision:
    return Decision(Verb.RESTORE, reason=reason, action=state.action, target=Target(holder_kind, holder), state=state,
                    alert=state.alert,
                    zone=state.zone, target_zone=state.target_zone, **base)


def _maybe_hold(base: dict[str, Any], namespace: NamespaceView, workload: Workload, policy: Policy,
                context: Context) -> Decision | None:
    forecast = _forecast(namespace, workload, policy, context)
    if forecast is not None:
        planned = _plan_hold(base, namespace, workload, policy, forecast, context)
        if planned is not _UNPLANNED:
            return planned
    for action in ((policy.action,) if policy.action in HOLD_ACTIONS else ()) + (("scale-up",) if policy.on_green else ()):
        triggers = _triggers(namespace, policy, action, context)
        if not triggers:
            continue
        trigger = triggers[0]
        markers = {(obj.get("metadata", {}).get("annotations") or {}).get(RELEASED)
                   for obj in (workload.obj, *(holder for _, holder in workload.holders())) if obj is not None}
        if alert_id(trigger) in markers:
            return None  # max-delay already released it (or its HPA) for this alert
        if action != "scale-up" and held_before(workload) >= policy.max_delay_seconds:
            return None  # a Job that has been held for its whole max-delay runs to the end
        lead = context.hold_lead_seconds
        start = hold_from(workload, policy, context.now, lead) if action != "scale-up" else None
        if start is not None and context.now < start:
            due = _clock(start + lead)
            return Decision(Verb.SKIP, reason=f"its next run is at {due}: held from {lead / 60:g} min before it, so the "
                            "run waits up to max-delay", action=action, **base)
        return _hold(base, namespace, workload, policy, action, trigger, context)
    return None


# --- plans (plans.py says how they combine with alerts) ------------------------------------------

_UNPLANNED = Decision(Verb.SKIP, kinds.JOB, "", "", "not planned")  # a sentinel: decide as without a forecast


def _forecast(namespace: NamespaceView, workload: Workload, policy: Policy, context: Context) -> planner.Forecast | None:
    """The zone's forecast, when this workload is planned."""
    if not plans.plannable(workload.kind, policy.action) or workload.scaled_object is not None:
        return None
    return context.forecasts.get(namespace.zone or "")


def _run(namespace: NamespaceView, workload: Workload, policy: Policy, context: Context, *, since: float,
         running: bool, earliest: float | None = None) -> plans.Run:
    """The run to plan; `since`: when its hold began (now, when not held)."""
    return plans.job_run(workload.kind, workload.obj, duration=policy.duration_seconds, deadline=policy.deadline,
                         max_delay=policy.max_delay_seconds, learned=namespace.run_seconds,
                         default_duration=context.default_duration_seconds, now=context.now,
                         origin=plans.slack_origin(workload.kind, workload.obj, fallback=since),
                         ran_until=context.now if running else since, running=running, earliest=earliest,
                         checkpoints=workload.kind is kinds.JOB and policy.interruptible)


def _plan_hold(base: dict[str, Any], namespace: NamespaceView, workload: Workload, policy: Policy,
               forecast: planner.Forecast, context: Context) -> Decision | None:
    """Hold a CronJob's next run when its plan puts it later; pause a running Job that checkpoints
    when its plan does, only under an alert that says waiting pays (plans.py). _UNPLANNED: decide
    as without a forecast (a schedule gridshift cannot read)."""
    trigger = plans.gate(namespace.zone, policy.level, context.alerts)
    action = policy.action
    earliest: float | None = None
    if workload.kind is kinds.CRONJOB:
        due = plans.cronjob_due(workload.obj, after=context.now)
        if due is None:
            return _UNPLANNED
        lead = context.hold_lead_seconds
        if context.now < due - lead:
            return Decision(Verb.SKIP, reason=f"its next run is at {_clock(due)}: planned from {lead / 60:g} min before it",
                            action=action, **base)
        earliest = due
    else:
        if trigger is None:
            return None  # running work is interrupted only under an alert
        refusal = jobs.refusal(workload.kind, workload.obj, interruptible=policy.interruptible)
        if refusal:
            return Decision(Verb.SKIP, reason=refusal, action=action, alert=alert_id(trigger), **base)
        if not jobs.runs_now(workload.kind, workload.obj) or held_before(workload) >= policy.max_delay_seconds:
            return None  # suspended by someone else, or held for its whole max-delay already: runs to the end
    run = _run(namespace, workload, policy, context, since=context.now, running=earliest is None, earliest=earliest)
    plan = plans.plan_run(forecast, run, context.now, context.planner)
    text = plans.summary(plan, run)
    if plan.run_now and plan.until is not None:  # runs on, to be paused later: the plan says when
        return Decision(Verb.SKIP, reason=f"planned: {text}", action=action, alert=alert_id(trigger) if trigger else "",
                        zone=namespace.zone or "", plan=plan, **base)
    if plan.run_now or plan.release_at <= run.work.earliest + planner.EPSILON:
        return None  # it runs as it would have: nothing to say at every pass
    return _hold(base, namespace, workload, policy, action, trigger, context, plan=(plan, text))


def _replan(base: dict[str, Any], namespace: NamespaceView, workload: Workload, policy: Policy, state: HoldState,
            holder_kind: Kind, holder: Mapping[str, Any], forecast: planner.Forecast, context: Context) -> Decision:
    """A held Job or CronJob run: plan again from the newest forecast; restore at its window."""
    earliest = None
    if workload.kind is kinds.CRONJOB:
        due = plans.cronjob_due(workload.obj, after=state.since)
        earliest = max(context.now, due) if due is not None else context.now
    run = _run(namespace, workload, policy, context, since=state.since, running=False, earliest=earliest)
    plan = plans.plan_run(forecast, run, context.now, context.planner)
    text = plans.summary(plan, run)
    if plan.run_now or plan.release_at <= run.work.earliest + planner.EPSILON:
        return replace(_restore(base, holder_kind, holder, state, f"restored: its planned window: {text}"), plan=plan)
    return Decision(Verb.KEEP, reason=f"planned: {text}", action=state.action, alert=state.alert, zone=state.zone,
                    plan=plan, **base)


def _arrival(base: dict[str, Any], namespace: NamespaceView, workload: Workload, policy: Policy, refusal: str | None,
             context: Context) -> Decision:
    """A Job created suspended for gridshift to start: at its planned window, else at once (never stranded)."""
    if policy.excluded:
        return Decision(Verb.SKIP, reason=f"left suspended: {refusal}", **base)
    if refusal is not None:
        return _start(base, workload, f"started at once: {refusal}")
    forecast = context.forecasts.get(namespace.zone or "")
    if forecast is None:
        return _start(base, workload, f"started at once: no forecast for zone {namespace.zone or '(none)'}")
    if policy.deadline is not None and policy.deadline <= context.now:
        return _start(base, workload, f"started at once: its deadline {_clock(policy.deadline)} has passed")
    if jobs.moment(workload.obj.get("metadata", {}).get("creationTimestamp")) is None:
        return _start(base, workload, "started at once: it has no creationTimestamp to count its slack from")
    trigger = plans.gate(namespace.zone, policy.level, context.alerts)
    run = _run(namespace, workload, policy, context, since=context.now, running=False)
    plan = plans.plan_run(forecast, run, context.now, context.planner)
    text = plans.summary(plan, run)
    alert = alert_id(trigger) if trigger is not None else ""
    if plan.run_now:
        return replace(_start(base, workload, f"started at its planned window: {text}"), plan=plan, alert=alert)
    return Decision(Verb.WAIT, reason=f"waits for its planned window: {text}", action="start", alert=alert,
                    zone=namespace.zone or "", plan=plan, **base)


def _elastic(base: dict[str, Any], namespace: NamespaceView, workload: Workload, policy: Policy,
             state: HoldState | None, refusal: str | None, context: Context) -> Decision | None:
    """Elastic work (elastic_work.py): the width its schedule gives now; restored exactly at the
    end, on opt-out, or when it can no longer be planned."""
    if refusal is not None and state is None:
        return None
    refusal = refusal or elastic_work.refusal(workload.kind, workload.obj, hpa=workload.hpa,
                                              scaled_object=workload.scaled_object)
    forecast = context.forecasts.get(namespace.zone or "")
    if refusal is None and forecast is None:
        refusal = f"no forecast for zone {namespace.zone or '(none)'}: it runs at its own width"
    if refusal is None and policy.action != Action.ELASTIC:
        refusal = f"{names.ANNOTATION_ACTION} is no longer elastic"
    if refusal is not None:
        return _elastic_end(base, workload, state, refusal)
    # effective_policy reads both for an elastic action, or refuses it
    assert forecast is not None and policy.scaling is not None and policy.max_replicas is not None
    try:
        need = elastic_work.needs(workload.kind, workload.obj, state, scaling=policy.scaling, now=context.now,
                                  duration=policy.duration_seconds, work=policy.work_seconds, deadline=policy.deadline,
                                  max_delay=policy.max_delay_seconds, learned=namespace.run_seconds,
                                  default_duration=context.default_duration_seconds)
    except elastic_work.NeedsError as error:
        return _elastic_end(base, workload, state, str(error))
    if need.remaining_hours <= 0:
        return _elastic_end(base, workload, state, f"its work is done ({need.source})", logged=False)
    if context.now >= need.deadline:
        return _elastic_end(base, workload, state, f"its deadline {_clock(need.deadline)} is reached")
    low = min(policy.min_replicas, policy.max_replicas)
    schedule = elastic.schedule(forecast, need.work(min_replicas=low, max_replicas=policy.max_replicas,
                                                    scaling=policy.scaling), context.now)
    pointer = workload.kind.replicas
    assert pointer is not None
    current = elastic_work.width(workload.kind, workload.obj)
    text = f"{schedule.reason}; {need.source}, {schedule.expected_grams_per_kwh:.0f} g/kWh expected"
    common: dict[str, Any] = {"action": Action.ELASTIC, "zone": namespace.zone or "", "elastic": schedule, **base}
    last_change = state.accounted_at if state is not None else None
    if (schedule.width_now != current and last_change is not None
            and context.now < last_change + elastic.MIN_CHANGE_SECONDS - planner.EPSILON):
        schedule = elastic.deferred(schedule, current, last_change + elastic.MIN_CHANGE_SECONDS)
        return Decision(Verb.KEEP, reason=f"planned: {schedule.reason}", **{**common, "elastic": schedule})
    if schedule.width_now == current:
        verb = Verb.KEEP if state is not None else Verb.SKIP
        return Decision(verb, reason=f"planned: stays {current} wide: {text}", **common)
    changes = {pointer: schedule.width_now}
    reason = f"planned: {current} -> {schedule.width_now} wide: {text}"
    done = elastic_work.delivered(state, workload.kind, workload.obj, policy.scaling, context.now)
    if state is None:
        return Decision(Verb.HOLD, reason=reason, target=Target(workload.kind, workload.obj), changes=changes,
                        work_done=done, **common)
    resized = replace(state, applied=changes, work_done=done, accounted_at=context.now)
    return Decision(Verb.RESIZE, reason=reason, target=Target(workload.kind, workload.obj), changes=changes,
                    state=resized, alert=state.alert, **common)


def _elastic_end(base: dict[str, Any], workload: Workload, state: HoldState | None, why: str,
                 logged: bool = True) -> Decision | None:
    if state is not None:
        return _restore(base, workload.kind, workload.obj, state, f"restored to its own width: {why}")
    return Decision(Verb.SKIP, reason=f"left at its own width: {why}", action=Action.ELASTIC, **base) if logged else None


def _start(base: dict[str, Any], workload: Workload, reason: str) -> Decision:
    suspend = kinds.JOB.suspend
    assert suspend is not None
    return Decision(Verb.START, reason=reason, action="start", target=Target(kinds.JOB, workload.obj),
                    changes={suspend: False}, **base)


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hold(base: dict[str, Any], namespace: NamespaceView, workload: Workload, policy: Policy, action: str,
          trigger: Alert | None, context: Context, plan: tuple[Plan, str] | None = None) -> Decision:
    """Hold for `trigger`, or for a plan (a CronJob run planned later may wait with no alert firing)."""
    common = {"alert": alert_id(trigger) if trigger else "", "zone": namespace.zone or "",
              "plan": plan[0] if plan else None, **base}
    refusal = jobs.refusal(workload.kind, workload.obj, interruptible=policy.interruptible)
    if refusal:
        return Decision(Verb.SKIP, reason=refusal, action=action, **common)
    reason = f"{trigger.name or 'alert'} level={trigger.level} in zone {namespace.zone}" if trigger else ""
    if plan is not None:
        reason = f"{reason}; planned: {plan[1]}" if reason else f"planned: {plan[1]}"
    if action == "migrate":
        clusters = context.cluster_targets.get(namespace.zone or "")
        if workload.propagation is not None and clusters is not None:
            return _retarget_propagation(workload, reason, common, clusters)
        target = context.migration_targets.get(namespace.zone or "")
        if target is None:
            if policy.fallback == "none":
                return Decision(Verb.SKIP, reason=f"no zone greener than {namespace.zone} and below its threshold; "
                                f"no fallback ({names.ANNOTATION_FALLBACK})", action=action, **common)
            action, reason = policy.fallback, f"{reason}; no greener zone, fallback {policy.fallback}"
        else:
            common["target_zone"] = target.zone
            reason = f"{reason}; moving to {target.zone} ({target.grams_per_kwh:.0f} g/kWh)"
            return _changes(action, workload, policy, reason, common, target)
    return _changes(action, workload, policy, reason, common, None)


def _retarget_propagation(workload: Workload, reason: str, common: dict[str, Any], target: ClusterTarget) -> Decision:
    """Karmada places the workload: point its PropagationPolicy at the greenest member clusters."""
    policy_obj = workload.propagation or {}
    name = policy_obj.get("metadata", {}).get("name", "")
    current = get_path(policy_obj, kinds.CLUSTER_AFFINITY) or {}
    if sorted(current.get("clusterNames") or []) == sorted(target.clusters) and len(current) == 1:
        return Decision(Verb.SKIP, reason=f"PropagationPolicy {name} already targets {', '.join(target.clusters)}",
                        action="migrate", **common)
    common = {**common, "target_zone": target.zone}
    return Decision(Verb.HOLD, reason=f"{reason}; Karmada PropagationPolicy {name} -> {', '.join(target.clusters)} "
                    f"({target.zone}, {target.grams_per_kwh:.0f} g/kWh)", action="migrate",
                    target=Target(kinds.PROPAGATION_POLICY, policy_obj),
                    changes={kinds.CLUSTER_AFFINITY: {"clusterNames": list(target.clusters)}}, **common)


def _changes(action: str, workload: Workload, policy: Policy, reason: str, common: dict[str, Any],
             target: MigrationTarget | None) -> Decision:
    kind, obj = workload.kind, workload.obj
    own = {"target": Target(kind, obj)}
    if workload.scaled_object is not None and action in ("pause", "scale-down"):
        return _through_keda(workload, policy, action, reason, common)
    if action == "pause" or (action == "scale-down" and kind.replicas is None):
        if kind.suspend is not None:
            if get_path(obj, kind.suspend) is True:
                return Decision(Verb.SKIP, reason="already suspended", action=action, **common)
            note = "" if action == "pause" else " (it has no size: scale-down suspends it)"
            return Decision(Verb.HOLD, reason=reason + note, action=action, changes={kind.suspend: True}, **own, **common)
        assert kind.replicas is not None
        if (get_path(obj, kind.replicas) or 0) == 0:
            return Decision(Verb.SKIP, reason="already at 0 replicas", action=action, **common)
        return Decision(Verb.HOLD, reason=reason, action=action, changes={kind.replicas: 0}, **own, **common)
    if action == "scale-down":
        return _scale_down(workload, policy, reason, common, own)
    if action == "migrate":
        assert target is not None
        changes: dict[str, Any] = {kind.affinity: with_zone_affinity(get_path(obj, kind.affinity), target),
                                   **jobs.migrate_changes(kind)}
        return Decision(Verb.HOLD, reason=reason, action=action, changes=changes, **own, **common)
    return _scale_up(workload, policy, reason, common, own)


def _through_keda(workload: Workload, policy: Policy, action: str, reason: str, common: dict[str, Any]) -> Decision:
    """KEDA sizes this workload: pause its ScaledObject at 0 (pause) or at the scaled-down count,
    never touching the workload's replicas or KEDA's HPA, which KEDA would set back."""
    scaled = workload.scaled_object or {}
    name = scaled.get("metadata", {}).get("name", "")
    pointer = workload.kind.replicas
    current = (get_path(workload.obj, pointer) if pointer else 0) or 0
    target = 0 if action == "pause" else max(policy.min_replicas, math.ceil(current * policy.scale_factor))
    if action == "scale-down" and target >= current:
        return Decision(Verb.SKIP, reason=f"{current} replicas is already at or below the floor", action=action, **common)
    if keda.paused_replicas(scaled) == str(target):
        return Decision(Verb.SKIP, reason=f"KEDA ScaledObject {name} already pauses it at {target} replicas",
                        action=action, **common)
    return Decision(Verb.HOLD, reason=f"{reason}; through KEDA ScaledObject {name}: paused at {target} replicas",
                    action=action, target=Target(kinds.SCALED_OBJECT, scaled),
                    changes={keda.PAUSED_POINTER: str(target)}, **common)


def _scale_down(workload: Workload, policy: Policy, reason: str, common: dict[str, Any], own: dict[str, Target]) -> Decision:
    hpa = workload.hpa
    if hpa is not None and workload.kind.replicas == "/spec/replicas":
        spec = hpa.get("spec", {})
        low, high = spec.get("minReplicas") or 1, spec["maxReplicas"]
        new_low = max(1, policy.min_replicas, math.ceil(low * policy.scale_factor))
        new_high = max(new_low, math.ceil(high * policy.scale_factor))
        if new_high >= high and new_low >= low:
            return Decision(Verb.SKIP, reason="the HPA's bounds are already at the floor", action="scale-down", **common)
        name = hpa.get("metadata", {}).get("name", "")
        return Decision(Verb.HOLD, reason=f"{reason}; lowering HPA {name}'s bounds ({low}-{high} -> {new_low}-{new_high}) "
                        "so the two do not fight", action="scale-down", target=Target(kinds.HPA, hpa),
                        changes={kinds.HPA_MIN: new_low, kinds.HPA_MAX: new_high}, **common)
    pointer = workload.kind.replicas
    assert pointer is not None
    current = get_path(workload.obj, pointer) or 0
    target = max(policy.min_replicas, math.ceil(current * policy.scale_factor))
    if target >= current:
        return Decision(Verb.SKIP, reason=f"{current} replicas is already at or below the floor", action="scale-down", **common)
    return Decision(Verb.HOLD, reason=f"{reason}; {current} -> {target} replicas", action="scale-down",
                    changes={pointer: target}, **own, **common)


def _scale_up(workload: Workload, policy: Policy, reason: str, common: dict[str, Any], own: dict[str, Target]) -> Decision:
    pointer = workload.kind.replicas
    if workload.hpa is not None or workload.scaled_object is not None or pointer is None or workload.kind is kinds.JOB:
        return Decision(Verb.SKIP, reason="on-green scale-up applies to Deployments and StatefulSets without an HPA or KEDA",
                        action="scale-up", **common)
    current = get_path(workload.obj, pointer) or 0
    if current == 0:
        return Decision(Verb.SKIP, reason="at 0 replicas: left as set", action="scale-up", **common)
    if policy.max_replicas is None or current >= policy.max_replicas:
        return Decision(Verb.SKIP, reason=f"already at {current} replicas", action="scale-up", **common)
    return Decision(Verb.HOLD, reason=f"{reason}; green surplus: {current} -> {policy.max_replicas} replicas",
                    action="scale-up", changes={pointer: policy.max_replicas}, **own, **common)


def with_zone_affinity(affinity: Mapping[str, Any] | None, target: MigrationTarget) -> dict[str, Any]:
    """The pod affinity plus a required node affinity to the target zone's nodes (ANDed into every term)."""
    expression = {"key": target.label, "operator": "In", "values": list(target.values)}
    result = dict(affinity or {})
    node = dict(result.get("nodeAffinity") or {})
    required = dict(node.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = [dict(term) for term in required.get("nodeSelectorTerms") or []] or [{}]
    for term in terms:
        term["matchExpressions"] = [*(term.get("matchExpressions") or []), expression]
    required["nodeSelectorTerms"] = terms
    node["requiredDuringSchedulingIgnoredDuringExecution"] = required
    result["nodeAffinity"] = node
    return result
