"""Elastic work in the savings benchmark (benchmarks/savings/elastic.py) on real trace stretches
(a month of Electricity Maps' hourly DE 2022, the 15-minute German December 2020): the action
service run by the simulator against the baselines and the oracle, job by job."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.savings import elastic, forecasts
from benchmarks.savings.elastic import ElasticSpec
from benchmarks.savings.grid import Grid

TRACES = ["emaps_hourly_DE_2022-06-01_2022-06-30.csv", "lwa_ci_DE_2020-12-01_2020-12-31_15min.csv"]
SPECS = [ElasticSpec(4.0, 12.0), ElasticSpec(12.0, 24.0)]


@pytest.fixture(scope="module", params=TRACES)
def grid(request, recorded_data: Path) -> Grid:
    return Grid.load(recorded_data / "intensity" / request.param)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_nothing_beats_the_elastic_oracle_and_no_deadline_is_missed(grid: Grid, spec: ElasticSpec) -> None:
    oracle = elastic.runs(grid, spec, "elastic-oracle")
    agnostic = elastic.runs(grid, spec, "elastic-agnostic")
    assert len(oracle) >= 5
    for policy in ("elastic-suspend-resume", "elastic-best-static", "gridshift-elastic-perfect"):
        source = forecasts.PerfectForecast(grid) if policy.startswith("gridshift") else None
        found = elastic.runs(grid, spec, policy, source)
        assert [r.arrival for r in found] == [r.arrival for r in oracle]
        for run, best in zip(found, oracle):
            assert run.grams >= best.grams - 1e-6, policy  # the oracle is the least carbon schedule
            assert not run.missed, policy
            assert run.finished is not None and run.finished <= run.deadline + 1e-6
    for run in agnostic:  # one replica from arrival: the trace's own integral
        assert run.grams == pytest.approx(grid.grams(run.arrival, run.arrival + spec.hours * 3600))


def test_the_service_with_a_perfect_forecast_reaches_the_oracle(grid: Grid) -> None:
    spec = ElasticSpec(12.0, 24.0)
    agnostic = sum(r.grams for r in elastic.runs(grid, spec, "elastic-agnostic"))
    oracle = sum(r.grams for r in elastic.runs(grid, spec, "elastic-oracle"))
    served = elastic.runs(grid, spec, "gridshift-elastic-perfect", forecasts.PerfectForecast(grid))
    saved = agnostic - sum(r.grams for r in served)
    assert saved >= 0.95 * (agnostic - oracle) > 0
    assert all(r.actions >= 1 for r in served)  # it did change widths


def test_the_best_static_width_is_no_worse_than_one_replica_suspended_and_resumed(grid: Grid) -> None:
    spec = ElasticSpec(4.0, 12.0)
    one = sum(r.grams for r in elastic.runs(grid, spec, "elastic-suspend-resume"))
    best = sum(r.grams for r in elastic.runs(grid, spec, "elastic-best-static"))
    assert best <= one + 1e-6


def test_a_planned_policy_needs_its_forecast(grid: Grid) -> None:
    with pytest.raises(ValueError, match="plans on a forecast"):
        elastic.runs(grid, SPECS[0], "gridshift-elastic-forecast")
