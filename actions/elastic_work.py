"""Elastic work on the cluster (docs/actions.md "Elastic work"): which workloads follow a width
schedule, how much work they have left and by when, read from the objects and the state
annotation. policy.py turns it into decisions; elastic.py makes the schedule.

- A Job (`spec.parallelism`): its work is `gridshift.io/duration` (else what plans use: the
  learned length, activeDeadlineSeconds, the configured default) at one replica. With
  `spec.completions`, the work done is its share of completions succeeded; without, the work
  its width has delivered since gridshift first sized it (the state annotation keeps the count).
  Its deadline: `gridshift.io/deadline`, else its creation + its length at its own width +
  max-delay.
- A Deployment or StatefulSet (a pool of workers): its work is `gridshift.io/work`, in hours of
  one replica, to deliver by `gridshift.io/deadline`, else max-delay after gridshift first sized
  it; the work delivered is counted in the state annotation. When it is delivered, or the
  deadline is reached, the workload is restored to its own replicas; the next pass begins a new
  window.
- An HPA or a KEDA ScaledObject that sizes the workload: gridshift leaves it alone and says so
  (two controllers setting one field fight; CONTRACT.md's restores would undo each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gridshift import names
from gridshift.actions import jobs, kinds
from gridshift.actions.elastic import ElasticWork, Scaling
from gridshift.actions.kinds import Kind, get_path
from gridshift.actions.planner import HOUR
from gridshift.actions.state import Action, HoldState

ELASTIC_KINDS = (kinds.JOB, kinds.DEPLOYMENT, kinds.STATEFULSET)


def opted_in(namespace: Mapping[str, str], workload: Mapping[str, str]) -> bool:
    return {**namespace, **workload}.get(names.ANNOTATION_ACTION, "").strip() == Action.ELASTIC


def refusal(kind: Kind, obj: Mapping[str, Any], *, hpa: Mapping[str, Any] | None,
            scaled_object: Mapping[str, Any] | None) -> str | None:
    """Why this workload cannot follow a width schedule; None: it can."""
    if kind not in ELASTIC_KINDS:
        return f"elastic applies to Jobs, Deployments and StatefulSets, not a {kind.name}"
    if hpa is not None:
        return (f"HPA {hpa.get('metadata', {}).get('name', '')} sizes it: elastic leaves it alone "
                "(the two would fight over its replicas)")
    if scaled_object is not None:
        return (f"KEDA ScaledObject {scaled_object.get('metadata', {}).get('name', '')} sizes it: elastic "
                "leaves it alone (the two would fight over its replicas)")
    if kind is kinds.JOB:
        if finished(obj):
            return "the Job has finished"
        if get_path(obj, "/spec/suspend") is True:
            return "the Job is suspended: its width is not what holds it"
    return None


def finished(obj: Mapping[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions)


def width(kind: Kind, obj: Mapping[str, Any]) -> int:
    """The replicas (a Job's parallelism) as set now; Kubernetes' default of 1 when absent."""
    assert kind.replicas is not None
    value = get_path(obj, kind.replicas)
    return int(value) if isinstance(value, int) else 1


def own_width(kind: Kind, obj: Mapping[str, Any], state: HoldState | None) -> int:
    """The width the workload was given by its team: the state's original, else as set now."""
    assert kind.replicas is not None
    if state is not None and isinstance(state.original.get(kind.replicas), int):
        return int(state.original[kind.replicas])
    return width(kind, obj)


@dataclass(frozen=True)
class Needs:
    """What is left of the work, by when, and how it was worked out."""

    total_hours: float
    done_hours: float
    deadline: float
    source: str

    @property
    def remaining_hours(self) -> float:
        return max(0.0, self.total_hours - self.done_hours)

    def work(self, *, min_replicas: int, max_replicas: int, scaling: Scaling) -> ElasticWork:
        return ElasticWork(self.remaining_hours, min_replicas, max_replicas, self.deadline, scaling)


class NeedsError(ValueError):
    """The work of an elastic workload cannot be known from what it says (with what is missing)."""


def delivered(state: HoldState | None, kind: Kind, obj: Mapping[str, Any], scaling: Scaling, now: float) -> float:
    """The work done: the state's count and the applied width since; before gridshift sizes a Job,
    its own width since it started (status.startTime). A worker Deployment's work is counted from
    the first sizing (its window opens then)."""
    assert kind.replicas is not None
    if state is None or state.accounted_at is None:
        started = jobs.moment((obj.get("status") or {}).get("startTime")) if kind is kinds.JOB else None
        if started is None:
            return 0.0
        return scaling.throughput(width(kind, obj)) * max(0.0, now - started) / HOUR
    applied = state.applied.get(kind.replicas)
    rate = scaling.throughput(applied) if isinstance(applied, int) else 0.0
    return state.work_done + rate * max(0.0, now - state.accounted_at) / HOUR


def needs(kind: Kind, obj: Mapping[str, Any], state: HoldState | None, *, scaling: Scaling, now: float,
          duration: float | None, work: float | None, deadline: float | None, max_delay: float,
          learned: Mapping[str, float], default_duration: float) -> Needs:
    if kind is kinds.JOB:
        return _job_needs(obj, state, scaling=scaling, now=now, duration=duration, deadline=deadline,
                          max_delay=max_delay, learned=learned, default_duration=default_duration)
    if work is None:
        raise NeedsError(f"an elastic {kind.name} needs {names.ANNOTATION_WORK}: the replica-hours it must deliver")
    since = state.since if state is not None else now
    due = deadline if deadline is not None else since + max_delay
    return Needs(work / HOUR, delivered(state, kind, obj, scaling, now), due,
                 f"{work / HOUR:g} replica-hours by {'its deadline' if deadline is not None else 'max-delay'}")


def _job_needs(obj: Mapping[str, Any], state: HoldState | None, *, scaling: Scaling, now: float,
               duration: float | None, deadline: float | None, max_delay: float, learned: Mapping[str, float],
               default_duration: float) -> Needs:
    length, source = jobs.expected_seconds(kinds.JOB, obj, annotated=duration, learned=learned,
                                           default=default_duration)
    total = length / HOUR
    completions = get_path(obj, "/spec/completions")
    if isinstance(completions, int) and completions > 0:
        succeeded = int((obj.get("status") or {}).get("succeeded") or 0)
        done = total * min(1.0, succeeded / completions)
        progress = f"{succeeded} of {completions} completions done"
    else:
        done = delivered(state, kinds.JOB, obj, scaling, now)
        progress = f"{done:.1f} h of work done"
    if deadline is None:
        created = jobs.moment((obj.get("metadata") or {}).get("creationTimestamp")) or (state.since if state else now)
        at_own_width = total / max(scaling.throughput(own_width(kinds.JOB, obj, state)), 1e-9)
        deadline = created + at_own_width * HOUR + max_delay
    return Needs(total, done, deadline, f"{total:g} h at one replica ({source}), {progress}")
