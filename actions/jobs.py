"""Every rule that belongs to Jobs and CronJobs alone, in one place (kinds.py stays data).

- A Job's max-delay is a budget over all its holds: each restore adds the hold's length to
  `gridshift.io/held-seconds`, and a Job held for its whole budget runs to the end.
- A finished Job is left alone; so is a running Job marked `interruptible: "false"`.
- Moving a Job is suspend, move, resume: its scheduling directives change only while it is
  suspended, so the hold suspends it with the new affinity and a second write resumes it. A
  restore never leaves it suspended, and leaves it where it runs (moving back would restart it).
- A CronJob is held from shortly before its next run, so the run waits up to max-delay however
  long the alert has been firing.
- Plans (planner.py) need a run's length: the `duration` annotation, else learned from the
  CronJob's earlier runs, else `activeDeadlineSeconds`, else a configured default; and a Job
  created suspended with `gridshift.io/start: planned` waits for gridshift to start it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from gridshift import names
from gridshift.actions import kinds, schedule
from gridshift.actions.kinds import Kind
from gridshift.actions.state import HoldState

HELD_SECONDS = names.ANNOTATION_HELD_SECONDS
# A CronJob is held from this long before its next run (at least; the reconciler makes it two
# reconcile intervals when those are longer), so a pass falls between the hold's start and the run.
CRONJOB_HOLD_LEAD_SECONDS = 15 * 60


def recorded_held_seconds(annotations: Mapping[str, str]) -> float:
    """The Job's time held by its earlier holds, as recorded on it."""
    try:
        return max(0.0, float(annotations.get(HELD_SECONDS, "0")))
    except ValueError:
        return 0.0  # not a number gridshift wrote: the hold is then bounded by max-delay alone


def held_before(kind: Kind, annotations: Mapping[str, str]) -> float:
    """Seconds a Job was held by its earlier holds (0 for other kinds: a service is never late)."""
    return recorded_held_seconds(annotations) if kind is kinds.JOB else 0.0


def held_seconds_after(kind: Kind, annotations: Mapping[str, str], state: HoldState, now: float) -> str | None:
    """A Job's `held-seconds` once the hold in `state` ends at `now` (None for other kinds)."""
    if kind is not kinds.JOB:
        return None
    return f"{recorded_held_seconds(annotations) + max(0.0, now - state.since):.0f}"


def refusal(kind: Kind, obj: Mapping[str, Any], *, interruptible: bool) -> str | None:
    """Why a Job is not held (None: it may be, and for every other kind)."""
    if kind is not kinds.JOB:
        return None
    status = obj.get("status") or {}
    if status.get("completionTime") or status.get("succeeded") and not status.get("active"):
        return "the Job has finished"
    if not interruptible:
        return f"{names.ANNOTATION_INTERRUPTIBLE}=false: the running Job is left to finish"
    return None


def hold_from(kind: Kind, obj: Mapping[str, Any], action: str, now: float,
              lead: float = CRONJOB_HOLD_LEAD_SECONDS) -> float | None:
    """When holding a CronJob starts to be worth it: shortly before its next run. Suspended, it
    delays nothing until a run falls due, while its max-delay runs from the hold; held from just
    before the run, the run waits up to max-delay however long the alert had been firing.
    None: at once (other kinds, `migrate`, a schedule gridshift cannot read)."""
    if kind is not kinds.CRONJOB or action not in ("pause", "scale-down"):
        return None
    due = schedule.next_run(obj, after=now)
    return None if due is None else due - lead


def migrate_changes(kind: Kind) -> dict[str, Any]:
    """What a move changes besides the affinity: a Job is suspended while its affinity changes."""
    if kind is kinds.JOB and kind.suspend is not None:
        return {kind.suspend: True}
    return {}


def moved_and_suspended(kind: Kind, state: HoldState) -> bool:
    """A Job moved by the hold whose second write (the resume) has not been made yet."""
    return kind is kinds.JOB and state.action == "migrate" and state.applied.get(kinds.JOB.suspend) is True


def resumes_after_hold(kind: Kind, action: str) -> bool:
    """The hold's first write suspended a Job to move it: the second lets it run again."""
    return kind is kinds.JOB and action == "migrate"


def stays_in_place(kind: Kind, state: HoldState) -> bool:
    """A moved Job is restored where it runs (moving it back would restart its pods)."""
    return kind is kinds.JOB and state.action == "migrate"


def unsuspended(before: Mapping[str, Any]) -> dict[str, Any]:
    """The Job's suspend flag as it was before the hold: never left suspended by gridshift."""
    suspend = kinds.JOB.suspend
    assert suspend is not None
    return {suspend: before.get(suspend) or False}


# --- plans: what a Job's or CronJob run's work is -------------------------------------------------

LEARNED_RUNS = 5  # a CronJob's run length is the median of its last few successful Jobs


def moment(value: Any) -> float | None:
    """An API time (RFC 3339 text; a number in the simulator) as epoch seconds; None if absent or unreadable."""
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def cronjob_of(kind: Kind, obj: Mapping[str, Any]) -> str | None:
    """The CronJob whose runs these are: the CronJob itself, or a Job's owner."""
    if kind is kinds.CRONJOB:
        return str(obj.get("metadata", {}).get("name", "")) or None
    if kind is kinds.JOB:
        owners = obj.get("metadata", {}).get("ownerReferences") or []
        return next((str(o.get("name")) for o in owners if o.get("kind") == "CronJob"), None)
    return None


def learned_run_seconds(job_objects: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """CronJob name -> the median length of its last successful runs (from the Jobs still listed)."""
    runs: dict[str, list[tuple[float, float]]] = {}
    for job in job_objects:
        cronjob = cronjob_of(kinds.JOB, job)
        status = job.get("status") or {}
        begin, end = moment(status.get("startTime")), moment(status.get("completionTime"))
        if cronjob and begin is not None and end is not None and end > begin and status.get("succeeded"):
            runs.setdefault(cronjob, []).append((end, end - begin))
    return {name: float(statistics.median(length for _, length in sorted(found)[-LEARNED_RUNS:]))
            for name, found in runs.items()}


def expected_seconds(kind: Kind, obj: Mapping[str, Any], *, annotated: float | None, learned: Mapping[str, float],
                     default: float) -> tuple[float, str]:
    """How long a run takes, and where that figure comes from: the `duration` annotation, the
    CronJob's earlier runs, `activeDeadlineSeconds` (an upper bound), else the configured default."""
    if annotated is not None:
        return annotated, names.ANNOTATION_DURATION
    cronjob = cronjob_of(kind, obj)
    if cronjob is not None and cronjob in learned:
        return learned[cronjob], "learned from its earlier runs"
    spec = obj.get("spec") or {}
    if kind is kinds.CRONJOB:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    limit = spec.get("activeDeadlineSeconds")
    if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > 0:
        return float(limit), "activeDeadlineSeconds"
    return default, "the configured default duration"


def waits_for_start(kind: Kind, obj: Mapping[str, Any], annotations: Mapping[str, str]) -> bool:
    """A Job created suspended for gridshift to start at its planned window (Kueue's pattern)."""
    if kind is not kinds.JOB or annotations.get(names.ANNOTATION_START, "").strip() != START_PLANNED:
        return False
    status = obj.get("status") or {}
    return (obj.get("spec") or {}).get("suspend") is True and not status.get("completionTime")


def runs_now(kind: Kind, obj: Mapping[str, Any]) -> bool:
    """A Job whose pods run: not suspended, not finished."""
    if kind is not kinds.JOB:
        return False
    status = obj.get("status") or {}
    return (obj.get("spec") or {}).get("suspend") is not True and not status.get("completionTime") and bool(status.get("active"))


def run_so_far(obj: Mapping[str, Any], until: float) -> float:
    """Seconds a Job has run by `until`: since it started, less the time its earlier holds took."""
    started = moment((obj.get("status") or {}).get("startTime"))
    if started is None:
        return 0.0
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return max(0.0, until - started - recorded_held_seconds(annotations))


START_PLANNED = "planned"
