"""Every rule that belongs to Jobs and CronJobs alone, in one place (kinds.py stays data).

- A Job's max-delay is a budget over all its holds: each restore adds the hold's length to
  `gridshift.io/held-seconds`, and a Job held for its whole budget runs to the end.
- A finished Job is left alone; so is a running Job marked `interruptible: "false"`.
- Moving a Job is suspend, move, resume: its scheduling directives change only while it is
  suspended, so the hold suspends it with the new affinity and a second write resumes it. A
  restore never leaves it suspended, and leaves it where it runs (moving back would restart it).
- A CronJob is held from shortly before its next run, so the run waits up to max-delay however
  long the alert has been firing.
"""

from __future__ import annotations

from collections.abc import Mapping
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
