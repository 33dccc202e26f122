"""Run every policy over every recorded trace: one row per (trace, policy, workload).

Traces: by default the five year-long traces of ../shared/data/intensity and the nine regions of
the CarbonCast benchmark (../shared/data/forecast/carboncast, lifecycle, two years each); else
every CSV in the folder given, or one file (any trace file gridshift's replay reads will do,
named by TRACES, by its CarbonCast region or by its file name). Thresholds: the absolute ones are the trace's
median (what an operator would read off last year's data; the same value for the static
baseline, so the two differ only in mechanism); the relative one is the exporter's `pNN` of
the coming 24 h, forecast by persistence (tomorrow = today, the forecast anyone has) and, as an
upper bound on forecasting, by the trace itself.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from gridshift.recordings import shared_data_dir

from benchmarks.savings import alerting, baselines, elastic, forecasts
from benchmarks.savings.cluster import Outcome, simulate
from benchmarks.savings.grid import DAY, Grid
from benchmarks.savings.workloads import JobRun, JobSpec, ServiceSpec, arrivals

DATA = shared_data_dir() / "intensity"
CARBONCAST = shared_data_dir() / "forecast" / "carboncast"
CARBONCAST_FILE = "_lifecycle_emissions.csv"  # <REGION>_lifecycle_emissions.csv, 2020-2021 hourly
# file -> (label, zone): the zone each shared trace is of, as ../shared/data/README.md describes it.
TRACES: dict[str, tuple[str, str]] = {
    "emaps_hourly_DE_2022.csv": ("DE 2022", "DE"),
    "lwa_ci_DE_2020_15min.csv": ("DE 2020", "DE"),
    "lwa_ci_GB_2020_30min.csv": ("GB 2020", "GB"),
    "emaps_hourly_US-CAL-CISO_2022.csv": ("CISO 2022", "US-CAL-CISO"),
    "carbonadvisor_emaps_SE_2021-10_2022-09.csv": ("SE 2021-22", "SE"),
}
KINDS = ("batch", "training", "restart")
HOURS = (1.0, 4.0, 12.0, 24.0, 48.0)
SLACKS = (0.0, 6.0, 12.0, 24.0, 48.0)
RELATIVE_QUANTILE = 0.5  # docs/examples/gridshift.yaml: high: p50 (p75 saved less on every trace: docs/benchmarks.md)
GRIDSHIFT_POLICIES = ("gridshift-absolute", "gridshift-relative", "gridshift-relative-perfect")
# The planner (issue 17) on three forecasts: the trace itself, persistence, gridshift's forecaster walk-forward.
PLAN_POLICIES = ("gridshift-plan-perfect", "gridshift-plan-persistence", "gridshift-plan-forecast")
# The planner on CarbonCast's published forecasts (benchmarks/savings/published.py: its test period only).
PUBLISHED_POLICIES = ("gridshift-plan-carboncast", *elastic.PUBLISHED)
POLICIES = ("carbon-agnostic", "static-threshold", *GRIDSHIFT_POLICIES, *PLAN_POLICIES, "oracle", *elastic.POLICIES)


@dataclass(frozen=True)
class Row:
    trace: str
    policy: str
    workload: str  # batch | training | service
    hours: float
    slack_hours: float
    jobs: int
    grams: float
    agnostic_grams: float
    oracle_grams: float
    missed: int
    actions: int
    restarts: int
    kwh: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_specs(hours: Sequence[float] = HOURS, slacks: Sequence[float] = SLACKS) -> list[JobSpec]:
    return [JobSpec(kind, h, s) for kind in KINDS for h in hours for s in slacks]


def thresholds(grid: Grid, quantile: float = RELATIVE_QUANTILE) -> dict[str, tuple[alerting.Threshold, list[float]]]:
    """Per gridshift policy: the threshold function and the moments it can change."""
    persistence = alerting.Relative(grid.series(shift_seconds=int(DAY)), quantile)
    perfect = alerting.Relative(grid.series(), quantile)
    return {
        "gridshift-absolute": (alerting.absolute(statistics.median(grid.values)), []),
        "gridshift-relative": (persistence, persistence.changes()),
        "gridshift-relative-perfect": (perfect, perfect.changes()),
    }


def plan_source(policy: str, grid: Grid, path: Path) -> forecasts.Source:
    if policy.endswith("-perfect"):
        return forecasts.PerfectForecast(grid)
    if policy.endswith("-persistence"):
        return forecasts.PersistenceForecast(grid)
    if policy.endswith("-carboncast"):
        return forecasts.carboncast_published(grid, path)
    return forecasts.walk_forward(grid, path)


def plan_episodes(grid: Grid, source: forecasts.Source, quantile: float = RELATIVE_QUANTILE) -> list[alerting.Episode]:
    """The alerts a planner policy runs under, from its own forecast: the relative High (as
    gridshift-relative) and GridCarbonGreenerWindowAhead, both by the shipped rules' parameters."""
    window = alerting.WindowRule.from_rules()
    moments = sorted({*source.changes(), *(start - DAY for start in grid.starts)})
    high = alerting.ForecastThreshold(source, grid.zone, q=quantile)
    ahead = alerting.ForecastThreshold(source, grid.zone, factor=window.factor)
    return [*alerting.episodes(grid, high, alerting.RuleParameters.from_rules(), extra_moments=moments),
            *alerting.episodes(grid, ahead, window.parameters, extra_moments=moments, level="window")]


def run_trace(path: Path, specs: Sequence[JobSpec] | None = None, service: ServiceSpec | None = ServiceSpec(),
              days: float | None = None, policies: Sequence[str] = POLICIES, label: str | None = None,
              zone: str | None = None, period: tuple[float, float] | None = None) -> list[Row]:
    """Every policy (of `policies`) over one trace (its first `days` only, or the `period` [begin,
    end) only, if given); its label and zone by trace_label unless given."""
    known_label, known_zone = trace_label(path)
    label = label or known_label
    grid = Grid.load(path, zone or known_zone)
    if days is not None:
        grid = grid.between(grid.start, grid.start + days * DAY)
    if period is not None:
        grid = grid.between(*period)
    specs = list(specs if specs is not None else job_specs())
    rule = alerting.RuleParameters.from_rules()
    median = statistics.median(grid.values)
    rows: list[Row] = []
    reference: dict[str, list[tuple[JobRun, JobRun]]] = {
        spec.key: [(baselines.carbon_agnostic(grid, spec, a), baselines.oracle(grid, spec, a)) for a, _ in arrivals(grid, spec)]
        for spec in specs}
    for spec in specs:
        static = [baselines.static_threshold(grid, spec, agnostic.arrival, median) for agnostic, _ in reference[spec.key]]
        for policy, runs in (("carbon-agnostic", [a for a, _ in reference[spec.key]]), ("static-threshold", static),
                             ("oracle", [o for _, o in reference[spec.key]])):
            if policy in policies:
                rows.append(_job_row(label, policy, spec, runs, reference[spec.key]))
    for policy, (threshold, moments) in thresholds(grid).items():
        if policy in policies:
            outcome = simulate(grid, alerting.episodes(grid, threshold, rule, extra_moments=moments), specs, service)
            rows += _simulated_rows(label, policy, grid, specs, outcome, reference)
    for policy in (p for p in (*PLAN_POLICIES, *PUBLISHED_POLICIES) if p in policies):
        source = plan_source(policy, grid, path)
        outcome = simulate(grid, plan_episodes(grid, source), specs, service, forecasts=source)
        rows += _simulated_rows(label, policy, grid, specs, outcome, reference)
    if any(p in policies for p in (*elastic.POLICIES, *elastic.PUBLISHED)):
        rows += elastic_rows(label, grid, path, policies)
    return rows


def elastic_rows(label: str, grid: Grid, path: Path, policies: Sequence[str]) -> list[Row]:
    """Rows of workload `elastic` (benchmarks/savings/elastic.py), one per job length, slack and policy."""
    rows = []
    sources = {p: plan_source(p, grid, path) for p in (*elastic.PLANNED, *elastic.PUBLISHED) if p in policies}
    for spec in elastic.specs():
        agnostic = elastic.runs(grid, spec, "elastic-agnostic")
        oracle = elastic.runs(grid, spec, "elastic-oracle")
        for policy in (p for p in (*elastic.POLICIES, *elastic.PUBLISHED) if p in policies):
            found = elastic.runs(grid, spec, policy, sources.get(policy))
            rows.append(Row(label, policy, "elastic", spec.hours, spec.slack_hours, len(found),
                            sum(r.grams for r in found), sum(r.grams for r in agnostic), sum(r.grams for r in oracle),
                            sum(r.missed for r in found), sum(r.actions for r in found), 0,
                            sum(r.kwh for r in found)))
    return rows


def _simulated_rows(label: str, policy: str, grid: Grid, specs: Sequence[JobSpec], outcome: Outcome,
                    reference: dict[str, list[tuple[JobRun, JobRun]]]) -> list[Row]:
    rows = [_job_row(label, policy, spec, outcome.jobs[spec.key], reference[spec.key],
                     outcome.cronjob_actions.get(spec.key, 0)) for spec in specs]
    if outcome.service is not None:
        run = outcome.service
        agnostic = grid.grams(run.begin, run.end)
        rows.append(Row(label, policy, "service", (run.end - run.begin) / 3600, 0.0, 1, run.grams, agnostic,
                        baselines.service_oracle(grid, run), 0, run.actions, 0, run.replica_hours / run.spec.replicas))
    return rows


def _job_row(label: str, policy: str, spec: JobSpec, runs: Sequence[JobRun],
             reference: Sequence[tuple[JobRun, JobRun]], cronjob_actions: int = 0) -> Row:
    return Row(label, policy, spec.kind, spec.hours, spec.slack_hours, len(runs), baselines.total(runs),
               sum(a.grams for a, _ in reference), sum(o.grams for _, o in reference),
               sum(run.missed for run in runs), cronjob_actions + sum(run.actions for run in runs),
               sum(run.restarts for run in runs),
               sum(run.kwh for run in runs))


def trace_label(path: Path) -> tuple[str, str | None]:
    """(label, zone) of a trace file: the shared traces by TRACES, a CarbonCast region's file by its
    region, any other by its name (zone from the file)."""
    if path.name in TRACES:
        return TRACES[path.name]
    if path.name.endswith(CARBONCAST_FILE):
        region = path.name[:-len(CARBONCAST_FILE)]
        return f"{region} 2020-21", region
    return path.stem, None


def trace_files(data: Path) -> list[Path]:
    """Every CSV in `data`; FileNotFoundError naming the expected inputs when there is none."""
    paths = sorted(data.glob("*.csv")) if data.is_dir() else []
    if not paths:
        raise FileNotFoundError(f"recorded traces missing: no *.csv in {data} (the benchmark's inputs are the year-long "
                                f"traces of ../shared/data/intensity: {', '.join(TRACES)}; or pass --data DIR)")
    return paths


def default_traces() -> list[Path]:
    """The five shared traces and the CarbonCast regions' lifecycle files (those that are there)."""
    found = sorted(DATA.glob("*.csv")) if DATA.is_dir() else []
    found += sorted(CARBONCAST.glob(f"*/*{CARBONCAST_FILE}")) if CARBONCAST.is_dir() else []
    if not found:
        raise FileNotFoundError(f"recorded traces missing: no *.csv in {DATA} nor {CARBONCAST}/*/*{CARBONCAST_FILE} "
                                f"(the shared data: {', '.join(TRACES)} and the CarbonCast regions); pass --data DIR "
                                "or --trace FILE")
    return found


def run_all(paths: Sequence[Path], workers: int = 2, days: float | None = None, policies: Sequence[str] = POLICIES,
            progress: Callable[[str], None] = print) -> list[Row]:
    rows: list[Row] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for path, found in zip(paths, pool.map(partial(run_trace, days=days, policies=policies), paths)):
            progress(f"  {trace_label(path)[0]}: {len(found)} rows")
            rows += found
    return rows
