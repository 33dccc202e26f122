"""Successive readings -> per-namespace energy and emissions counters that never go backwards.

Pure state, no I/O. Per node, the last value of every container (or pod) series is kept and
only increments are added to the namespace's totals:

- a value above the last one adds the difference;
- a value below it is a counter reset (Kepler restarted; a uint64 wrap): the new value is the
  energy since the reset and is added whole;
- a series first seen after the node's first reading started since then: its whole value is
  added; in the node's first reading every series only sets the baseline (energy from before
  gridshift watched is not attributed to the intensity of now);
- a series that disappears adds nothing and its namespace keeps what it had; its last value is
  remembered for `forget_after_seconds`, so a series that comes back is not counted twice;
- a node silent for longer than that starts again from a baseline when it answers.

Each increment is turned into emissions with the intensity of the node's zone at that moment:
grams = joules / 3.6e6 * gCO2eq/kWh. Without a known intensity it is added to the zone's
unattributed energy instead. Power is the namespace's increment over the time between the
node's last two readings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gridshift.exporters.power.records import NodePower, Reading

JOULES_PER_KWH = 3.6e6


@dataclass(slots=True)
class _Total:
    energy: float = 0.0
    emissions: float | None = None
    updated_at: float = 0.0


@dataclass
class _Node:
    last: dict[str, float] = field(default_factory=dict)  # series key -> last cumulative joules
    missing: dict[str, float] = field(default_factory=dict)  # series key -> since when it is not in the readings
    totals: dict[tuple[str, str], _Total] = field(default_factory=dict)  # (namespace, zone)
    watts: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    read_at: float | None = None  # the last successful reading
    up: bool | None = None


class Accumulator:
    def __init__(self, *, forget_after_seconds: float) -> None:
        self.forget_after_seconds = forget_after_seconds
        self.unattributed: dict[str, float] = {}  # zone -> J without a known intensity
        self._nodes: dict[str, _Node] = {}

    def add(self, node: str, reading: Reading, *, at: float, zone: str, grams_per_kwh: float | None) -> None:
        """Account one successful reading of `node` taken at `at` (seconds)."""
        state = self._nodes.setdefault(node, _Node())
        increments = self._increments(state, reading, at)
        for namespace, joules in increments.items():
            total = state.totals.setdefault((namespace, zone), _Total())
            total.energy += joules
            total.updated_at = at
            if grams_per_kwh is not None:
                total.emissions = (total.emissions or 0.0) + joules / JOULES_PER_KWH * grams_per_kwh
            elif joules > 0:
                self.unattributed[zone] = self.unattributed.get(zone, 0.0) + joules
        elapsed = at - state.read_at if state.read_at is not None else 0.0
        state.watts = MappingProxyType(
            {namespace: joules / elapsed for namespace, joules in increments.items()} if elapsed > 0 else {})
        state.read_at, state.up = at, True

    def failed(self, node: str) -> None:
        """A reading of `node` failed: its counters stay, its power is no longer current."""
        state = self._nodes.setdefault(node, _Node())
        state.watts, state.up = MappingProxyType({}), False

    def forget(self, now: float, *, keep: set[str]) -> None:
        """Drop what was not seen for `forget_after_seconds`: series, totals, and nodes not in `keep`.

        A node in `keep` that has not answered for that long starts again from a new baseline.
        """
        horizon = now - self.forget_after_seconds
        for name, state in list(self._nodes.items()):
            silent = state.read_at is None or state.read_at < horizon
            if silent and name not in keep:
                del self._nodes[name]
                continue
            if state.read_at is not None and state.read_at < horizon:
                state.last.clear()
                state.missing.clear()
                state.read_at = None
            for key in [k for k, since in state.missing.items() if since < horizon]:
                del state.missing[key], state.last[key]
            for total_key in [k for k, total in state.totals.items() if total.updated_at < horizon]:
                del state.totals[total_key]

    def view(self, node: str, *, zone: str, scraped: bool) -> NodePower:
        """The node's totals; `scraped`: it is a Kepler target now (else no scrape status is shown)."""
        state = self._nodes.get(node) or _Node()
        return NodePower(
            node=node, zone=zone, watts=state.watts,
            energy=MappingProxyType({key: t.energy for key, t in state.totals.items()}),
            emissions=MappingProxyType({key: t.emissions for key, t in state.totals.items() if t.emissions is not None}),
            scrape_up=state.up if scraped else None, last_success=state.read_at if scraped else None,
        )

    @property
    def nodes(self) -> list[str]:
        return list(self._nodes)

    @staticmethod
    def _increments(state: _Node, reading: Reading, at: float) -> dict[str, float]:
        first = state.read_at is None
        last = state.last
        increments: dict[str, float] = {}
        for key, series in reading.series.items():
            joules = series.joules
            before = last.get(key)
            if before is None:
                delta = 0.0 if first else joules
            elif joules >= before:
                delta = joules - before
            else:
                delta = joules  # counter reset
            last[key] = joules
            increments[series.namespace] = increments.get(series.namespace, 0.0) + delta
        gone = last.keys() - reading.series.keys()
        state.missing = {key: state.missing.get(key, at) for key in gone}
        return increments
