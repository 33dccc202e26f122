"""Elastic work's width over time (issue 18, docs/actions.md "Elastic work"): each workload's
width changes as the decision log recorded them (the first change, each resize, the restore),
from its own width to the end of the range. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridshift.report.plans import _epoch
from gridshift.report.timerange import TimeRange

WRITES = {"hold": "applied", "resize": "applied", "restore": "restored"}  # a width written, and its result


@dataclass(frozen=True)
class WidthRow:
    kind: str
    name: str
    own_width: int  # as its team set it, before gridshift's first change
    changes: tuple[tuple[float, int], ...]  # (when, width set), oldest first
    span: TimeRange

    def mean_width(self) -> float:
        """Time-weighted over the range, from the first change on (its own width before it)."""
        start, end = self.span.start, self.span.end
        moments = [(max(start, t), w) for t, w in self.changes if t < end]
        total, width, at = 0.0, self.own_width, start
        for moment, new in moments:
            total += width * (moment - at)
            width, at = new, moment
        total += width * (end - at)
        return total / (end - start) if end > start else float(width)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "own_width": self.own_width,
                "changes": [{"time": t, "width": w} for t, w in self.changes], "mean_width": round(self.mean_width(), 3)}


def widths_over_time(decisions: Sequence[Mapping[str, Any]], span: TimeRange) -> list[WidthRow]:
    """One row per workload whose width gridshift's elastic schedule changed. Entries it cannot
    read (no time, no size field) are left out rather than guessed."""
    found: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    for entry in decisions:
        if entry.get("action") != "elastic" or WRITES.get(str(entry.get("decision"))) != entry.get("result"):
            continue
        moment, before, after = _epoch(entry.get("time")), _size(entry.get("before")), _size(entry.get("after"))
        if moment is None or before is None or after is None:
            continue
        found.setdefault((str(entry.get("kind", "")), str(entry.get("name", ""))), []).append((moment, before, after))
    rows = []
    for (kind, name), changes in found.items():
        changes.sort()
        rows.append(WidthRow(kind, name, own_width=changes[0][1], changes=tuple((t, a) for t, _, a in changes), span=span))
    return sorted(rows, key=lambda r: (r.changes[0][0], r.kind, r.name))


def _size(fields: Any) -> int | None:
    """The width in a decision's before/after fields (a Job's parallelism, else replicas)."""
    if not isinstance(fields, Mapping):
        return None
    for pointer in ("/spec/parallelism", "/spec/replicas"):
        value = fields.get(pointer)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
