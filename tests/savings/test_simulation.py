"""The savings simulator: gridshift's own action service over real trace stretches.

Invariants checked on every job of every policy (three weeks of the 15-minute German 2020 trace,
and of the Swedish trace with its gaps):
- nothing beats the oracle: every job's grams under every policy are at least the oracle's for
  that job (the oracle is exact, so a policy below it means a broken simulator or oracle);
- carbon-agnostic is the trace's own integral over [arrival, arrival + length];
- gridshift meets every deadline with the max-delay budget, uses exactly the job's energy
  when it can checkpoint or is only deferred, and more when a restart loses work;
- a service never runs below its floor and emits no more than carbon-agnostic;
- at the end nothing is left held that no alert justifies (no stranded state annotations).
Also: the oracle against brute force, Grid.grams against a minute-by-minute sum, the in-memory
API's guarded patches.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from benchmarks.savings import alerting, baselines
from benchmarks.savings.cluster import ClusterSimulation
from benchmarks.savings.grid import DAY, HOUR, Grid
from benchmarks.savings.memkube import MemoryKube
from benchmarks.savings.run import thresholds
from benchmarks.savings.workloads import JobSpec, ServiceSpec, arrivals
from gridshift import names
from gridshift.actions import kinds
from gridshift.actions.kube.errors import Conflict

SPECS = [JobSpec(kind, hours, slack) for kind in ("batch", "training", "restart")
         for hours, slack in ((1, 6), (4, 12), (12, 24), (24, 0))]


def stretch(recorded_data: Path, name: str, begin_day: int, days: int) -> Grid:
    recorded = Grid.load(recorded_data / "intensity" / name)
    begin = recorded.start + begin_day * DAY
    return recorded.between(begin, begin + days * DAY)


# Both stretches hold the traces' real gaps: DE's two missing quarter hours on 19 December 2020,
# SE's 21-hour and 10-hour holes of 5-6 July 2022.
@pytest.fixture(scope="module", params=[("lwa_ci_DE_2020-12-01_2020-12-31_15min.csv", 5),
                                        ("carbonadvisor_emaps_SE_2022-06-10_2022-07-19.csv", 10)],
                ids=["DE-2020-15min", "SE-gaps"])
def grid(request, recorded_data) -> Grid:
    name, begin_day = request.param
    return stretch(recorded_data, name, begin_day, 21)


@pytest.fixture(scope="module", params=["gridshift-absolute", "gridshift-relative"])
def simulated(request, grid):
    threshold, moments = thresholds(grid)[request.param]
    episodes = alerting.episodes(grid, threshold, alerting.RuleParameters.from_rules(), extra_moments=moments)
    simulation = ClusterSimulation(grid, episodes, SPECS, ServiceSpec())
    return simulation, simulation.run(), episodes


def test_every_job_ran_and_none_beats_the_oracle(grid, simulated):
    _, outcome, _ = simulated
    for spec in SPECS:
        runs = outcome.jobs[spec.key]
        assert [r.arrival for r in runs] == [a for a, _ in arrivals(grid, spec)]
        for run in runs:
            assert run.finished is not None
            assert run.grams >= baselines.oracle(grid, spec, run.arrival).grams - 1e-6, (spec, run)


def test_deadlines_and_energy(grid, simulated):
    _, outcome, _ = simulated
    for spec in SPECS:
        for run in outcome.jobs[spec.key]:
            if spec.kind == "restart":
                assert run.kwh >= spec.hours - 1e-9  # work lost to a restart is done again
                continue
            assert not run.missed, (spec, run)
            assert run.kwh == pytest.approx(spec.hours)
            assert run.restarts == 0


def test_held_jobs_only_while_an_alert_fires(grid, simulated):
    simulation, outcome, episodes = simulated
    firing = sum(e.resolved_at - e.firing_at for e in episodes)
    assert firing > 0
    delayed = [r for spec in SPECS if spec.kind == "training" for r in outcome.jobs[spec.key]
               if r.finished - r.arrival > r.spec.hours * HOUR + 1]
    assert delayed, "three weeks of alerts delay some training job"
    for run in delayed:  # a delayed job arrived or ran while an alert fired
        assert any(e.firing_at < run.finished and e.resolved_at > run.arrival for e in episodes)


def test_no_slack_means_not_touched(grid, simulated):
    _, outcome, _ = simulated
    for spec in (s for s in SPECS if s.slack_hours == 0):
        for run in outcome.jobs[spec.key]:
            assert run.actions == 0 and run.grams == pytest.approx(baselines.carbon_agnostic(grid, spec, run.arrival).grams)


def test_the_service_keeps_its_floor_and_saves(grid, simulated):
    _, outcome, _ = simulated
    service = outcome.service
    hours = (service.end - service.begin) / HOUR
    assert service.spec.floor * hours <= service.replica_hours <= service.spec.replicas * hours + 1e-6
    assert service.grams <= grid.grams(service.begin, service.end) + 1e-6
    assert baselines.service_oracle(grid, service) <= service.grams + 1e-6


def test_nothing_stranded(simulated):
    simulation, _, episodes = simulated
    still_firing = any(e.firing_at <= simulation.now < e.resolved_at for e in episodes)
    for kind in (kinds.JOB, kinds.CRONJOB, kinds.DEPLOYMENT):
        for obj in simulation.kube.list_all(kind):
            held = names.ANNOTATION_STATE in (obj["metadata"].get("annotations") or {})
            assert not held or still_firing, obj["metadata"]


def test_agnostic_is_the_traces_integral(grid):
    spec = JobSpec("training", 5, 12)
    for arrival, _ in arrivals(grid, spec):
        minutes = [grid.value(arrival + 60 * m + 30) for m in range(5 * 60)]
        assert baselines.carbon_agnostic(grid, spec, arrival).grams == pytest.approx(sum(minutes) / 60, rel=1e-9)


@pytest.mark.parametrize("spec", [JobSpec("batch", 3, 10), JobSpec("training", 3, 10)])
def test_the_oracle_against_brute_force(grid, spec):
    step = 900  # every point of these traces starts on a quarter hour
    for arrival, _ in list(arrivals(grid, spec))[:4]:
        slots = [(grid.value(arrival + i * step), i) for i in range(int((spec.hours + spec.slack_hours) * HOUR / step))]
        need = int(spec.hours * HOUR / step)
        if spec.checkpoints:
            best = sum(v for v, _ in sorted(slots)[:need]) * step / HOUR
        else:
            best = min(sum(v for v, _ in slots[s:s + need]) for s in range(len(slots) - need + 1)) * step / HOUR
        assert baselines.oracle(grid, spec, arrival).grams == pytest.approx(best, rel=1e-9)


def test_static_threshold_defers_until_at_or_below_the_threshold(grid):
    spec = JobSpec("batch", 2, 12)
    limit = statistics.median(grid.values)
    for arrival, _ in arrivals(grid, spec):
        run = baselines.static_threshold(grid, spec, arrival, limit)
        start = run.finished - spec.hours * HOUR
        assert arrival <= start <= arrival + spec.slack_hours * HOUR
        assert grid.value(start) <= limit or start == arrival + spec.slack_hours * HOUR


def test_memory_kube_guarded_patch():
    kube = MemoryKube()
    kube.add(kinds.JOB, {"metadata": {"name": "j", "namespace": "n"}, "spec": {"suspend": False}})
    version = kube.get(kinds.JOB, "n", "j")["metadata"]["resourceVersion"]
    with pytest.raises(Conflict):
        kube.patch(kinds.JOB, "n", "j", [{"op": "test", "path": "/metadata/resourceVersion", "value": "old"},
                                         {"op": "replace", "path": "/spec/suspend", "value": True}])
    assert kube.get(kinds.JOB, "n", "j")["spec"]["suspend"] is False
    kube.patch(kinds.JOB, "n", "j", [{"op": "test", "path": "/metadata/resourceVersion", "value": version},
                                     {"op": "replace", "path": "/spec/suspend", "value": True}])
    job = kube.get(kinds.JOB, "n", "j")
    assert job["spec"]["suspend"] is True and job["metadata"]["resourceVersion"] != version


# --- the planner (issue 17) ----------------------------------------------------------------------

def plan_run(grid: Grid, policy: str):
    from benchmarks.savings.run import plan_episodes, plan_source
    source = plan_source(policy, grid, Path("unused"))  # perfect and persistence read the grid alone
    return ClusterSimulation(grid, plan_episodes(grid, source), SPECS, None, forecasts=source).run()


@pytest.fixture(scope="module", params=["gridshift-plan-perfect", "gridshift-plan-persistence"])
def planned(request, grid):
    return request.param, plan_run(grid, request.param)


def test_plans_meet_every_deadline_and_never_beat_the_oracle(grid, planned):
    _, outcome = planned
    for spec in SPECS:
        runs = outcome.jobs[spec.key]
        assert [r.arrival for r in runs] == [a for a, _ in arrivals(grid, spec)]
        for run in runs:
            assert run.finished is not None
            assert run.grams >= baselines.oracle(grid, spec, run.arrival).grams - 1e-6, (spec, run)
            if spec.kind != "restart":
                assert not run.missed and run.kwh == pytest.approx(spec.hours) and run.restarts == 0, (spec, run)


def test_with_a_perfect_forecast_plans_come_close_to_the_oracle(grid):
    outcome = plan_run(grid, "gridshift-plan-perfect")
    for kind in ("batch", "training"):
        runs = [(spec, r) for spec in SPECS if spec.kind == kind and spec.slack_hours > 0 for r in outcome.jobs[spec.key]]
        agnostic = sum(baselines.carbon_agnostic(grid, spec, r.arrival).grams for spec, r in runs)
        oracle = sum(baselines.oracle(grid, spec, r.arrival).grams for spec, r in runs)
        planned_grams = sum(r.grams for _, r in runs)
        assert agnostic > oracle
        assert (agnostic - planned_grams) >= 0.85 * (agnostic - oracle), kind  # the year-long figures: docs/benchmarks.md
