"""The accumulator alone (no I/O): the rules of docs/power.md "Counters" on small readings.

Aspects: first reading is a baseline; a series first seen later counts whole; a decrease is a
reset; a series that vanishes and returns is not counted twice; forgetting after the window;
emissions only with a known intensity, unattributed energy per zone otherwise.
"""

from __future__ import annotations

import pytest

from gridshift.exporters.power.accumulate import Accumulator
from gridshift.exporters.power.records import Reading, SeriesEnergy


def reading(**joules: float) -> Reading:
    """Series `a1`, `a2` are in namespace team-a, `b1` in team-b."""
    return Reading("0.7", {key: SeriesEnergy("team-a" if key.startswith("a") else "team-b", value)
                           for key, value in joules.items()})


def energy(acc: Accumulator, node: str = "n1") -> dict[tuple[str, str], float]:
    return dict(acc.view(node, zone="FR", scraped=True).energy)


def test_baseline_new_series_reset_and_return():
    acc = Accumulator(forget_after_seconds=3600)
    acc.add("n1", reading(a1=100, b1=50), at=0, zone="FR", grams_per_kwh=None)
    assert energy(acc) == {("team-a", "FR"): 0, ("team-b", "FR"): 0}
    acc.add("n1", reading(a1=110, a2=5, b1=60), at=10, zone="FR", grams_per_kwh=None)  # a2 started since
    assert energy(acc) == {("team-a", "FR"): 15, ("team-b", "FR"): 10}
    acc.add("n1", reading(a1=3, a2=1, b1=61), at=20, zone="FR", grams_per_kwh=None)  # Kepler restarted
    assert energy(acc) == {("team-a", "FR"): 19, ("team-b", "FR"): 11}
    acc.add("n1", reading(a1=4, b1=62), at=30, zone="FR", grams_per_kwh=None)  # a2 missing from a scrape
    acc.add("n1", reading(a1=5, a2=2, b1=63), at=40, zone="FR", grams_per_kwh=None)  # back: +1, not +2
    assert energy(acc) == {("team-a", "FR"): 19 + 1 + 1 + 1, ("team-b", "FR"): 13}
    assert acc.view("n1", zone="FR", scraped=True).watts == {"team-a": pytest.approx(0.2), "team-b": pytest.approx(0.1)}


def test_emissions_and_unattributed_energy():
    acc = Accumulator(forget_after_seconds=3600)
    acc.add("n1", reading(a1=0), at=0, zone="FR", grams_per_kwh=None)
    acc.add("n1", reading(a1=3.6e6), at=10, zone="FR", grams_per_kwh=None)
    assert acc.view("n1", zone="FR", scraped=True).emissions == {}
    assert acc.unattributed == {"FR": 3.6e6}
    acc.add("n1", reading(a1=5.4e6), at=20, zone="FR", grams_per_kwh=80.0)
    assert acc.view("n1", zone="FR", scraped=True).emissions == {("team-a", "FR"): pytest.approx(40.0)}


def test_failed_node_keeps_counters_and_loses_power_then_is_forgotten():
    acc = Accumulator(forget_after_seconds=100)
    acc.add("n1", reading(a1=1), at=0, zone="FR", grams_per_kwh=None)
    acc.add("n1", reading(a1=2), at=10, zone="FR", grams_per_kwh=None)
    acc.failed("n1")
    view = acc.view("n1", zone="FR", scraped=True)
    assert (view.scrape_up, dict(view.watts), dict(view.energy)) == (False, {}, {("team-a", "FR"): 1})
    assert acc.view("n1", zone="FR", scraped=False).scrape_up is None
    acc.forget(50, keep=set())
    assert acc.nodes == ["n1"]
    acc.forget(200, keep={"n1"})  # still a target, silent too long: its totals go, the next reading is a baseline
    assert acc.nodes == ["n1"] and energy(acc) == {}
    acc.add("n1", reading(a1=1000), at=210, zone="FR", grams_per_kwh=None)
    assert energy(acc) == {("team-a", "FR"): 0}
    acc.failed("n1")
    acc.forget(400, keep=set())
    assert acc.nodes == []
