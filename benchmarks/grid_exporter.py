"""Grid exporter benchmark (issue 3): refresh cost per zone, scrape latency, resident memory.

Run from the repository root:

    .venv/bin/python -m benchmarks.grid_exporter        # this benchmark only
    .venv/bin/python -m benchmarks                      # every benchmark

The exporter is built exactly as `gridshift exporter` builds it (build_config ->
build_grid_exporter -> gridshift.web.Server) for every ENTSO-E zone that publishes actual
generation per production type (ZONES, 43), pointed at a loopback ENTSO-E in a child process
that answers every zone with real recorded payloads (benchmarks/fake_entsoe.py). The staleness
limit is set far beyond the age of the recordings so every value is exported.

Measured, in this process only (the fake ENTSO-E's CPU and memory are not counted):
1. refresh: one cold round of refresher.run_due() (all 5 datasets x all zones), then warm
   rounds; wall and CPU time (time.process_time: all threads), per zone, and the mean time
   per dataset job from the exporter's own refresh-duration histogram;
2. the parts of one generation job: parse_document + latest_generation_mix of the FI and SE4
   payloads, and the fetch alone (entsoe-py request over loopback HTTP, no parsing);
3. scrapes: sequential GET /metrics over one keep-alive session after the data is loaded:
   latency percentiles, response size, number of series; and generate_latest() alone;
4. resident memory (psutil RSS) at each stage, and the peak (ru_maxrss).

Results: a table on stdout and a JSON file under benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks import fake_entsoe
from benchmarks.common import (
    aligned_table, latency, mib, peak_rss_bytes, print_table_and_took, provenance, quiet_logging, rss_bytes, wall_and_cpu,
    write_result,
)

# ENTSO-E bidding zones / countries that publish actual generation per production type
# (Transparency Platform 16.1.B&C), as entsoe-py Area names.
ZONES: tuple[str, ...] = (
    "AT", "BE", "BG", "CH", "CZ", "DE_LU", "DK_1", "DK_2", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE_SEM", "IT_NORD", "IT_CNOR", "IT_CSUD", "IT_SUD", "IT_CALA", "IT_SICI", "IT_SARD",
    "LT", "LV", "ME", "MK", "NL", "NO_1", "NO_2", "NO_3", "NO_4", "NO_5",
    "PL", "PT", "RO", "RS", "SE_1", "SE_2", "SE_3", "SE_4", "SI", "SK",
)

TOKEN = "benchmark-entsoe-token-0b7e41"
UNLIMITED_PER_MINUTE = 1_000_000
# Far beyond the age of the recordings (2023-2025), so all recorded data counts as fresh.
STALENESS_LIMIT_SECONDS = 20 * 365 * 86400.0


def mean_seconds(function: Callable[[], object], runs: int) -> tuple[float, float]:
    """Mean wall and CPU seconds of `function` over `runs` calls (after one warm-up call)."""
    function()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(runs):
        function()
    return (time.perf_counter() - wall0) / runs, (time.process_time() - cpu0) / runs


def run(*, scrapes: int, parse_runs: int, warm_rounds: int, zones: Sequence[str]) -> dict[str, Any]:
    memory: dict[str, int] = {"start": rss_bytes()}

    # Everything the exporter imports (entsoe-py pulls in pandas): a one-off cost at start-up.
    import requests  # noqa: F401  (the scrape client, imported here to count it)

    from gridshift import recordings
    from gridshift.config import build_config
    from gridshift.exporters.grid.app import build_grid_exporter
    from gridshift.exporters.grid.pacing import RequestPacer
    from gridshift.web import Server
    from gridshift.zones import check_entsoe_zone

    memory["imports"] = rss_bytes()

    problems = [problem for zone in zones if (problem := check_entsoe_zone(zone, "zones"))]
    if problems:
        raise SystemExit("unknown zones:\n" + "\n".join(problems))
    data_dir = recordings.REPO_DATA_DIR / "entsoe"
    missing = [name for name in fake_entsoe.PAYLOAD_FILES if not (data_dir / name).is_file()]
    if missing:
        raise SystemExit(f"recorded payloads missing in {data_dir}: {', '.join(missing)} (the repository's data/)")

    fake = fake_entsoe.start_in_child(data_dir=data_dir, token=TOKEN, zones=zones)
    try:
        config = build_config(
            {
                "grid": {
                    "entsoe": {"zones": list(zones), "endpoint": fake.url, "timeout_seconds": 10},
                    "staleness_limit_seconds": STALENESS_LIMIT_SECONDS,
                    # the ENTSO-E refresh and the scrape alone; the forecaster: benchmarks.forecaster_exporter
                    "forecaster": {"enabled": False},
                }
            },
            env={"ENTSOE_API_KEY": TOKEN},
        )
        # The client-side ENTSO-E limit (grid.entsoe.requests_per_minute) lifted: this measures the
        # exporter's own cost over ~700 requests in a few seconds; the limit is measured in
        # benchmarks.entsoe_pacing.
        exporter = build_grid_exporter(config, entsoe_pacer=RequestPacer(UNLIMITED_PER_MINUTE))
        server = Server(exporter.app, "127.0.0.1", 0).start()
        memory["built"] = rss_bytes()
        try:
            result = _measure(
                exporter=exporter, server=server, config=config, memory=memory, zones=zones, data_dir=data_dir,
                scrapes=scrapes, parse_runs=parse_runs, warm_rounds=warm_rounds,
            )
        finally:
            exporter.refresher.stop()
            server.stop()
    finally:
        fake.stop()
    return result


def _measure(*, exporter: Any, server: Any, config: Any, memory: dict[str, int], zones: Sequence[str],
             data_dir: Path, scrapes: int, parse_runs: int, warm_rounds: int) -> dict[str, Any]:
    import requests
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from gridshift import names
    from gridshift.exporters.grid import datasets
    from gridshift.exporters.grid.collector import GridCollector
    from gridshift.exporters.grid.mix import Profile, latest_generation_mix
    from gridshift.exporters.grid.parse import parse_document

    refresher = exporter.refresher
    registry = exporter.registry
    settings = config.grid.entsoe
    dataset_names = [dataset.name for dataset in datasets.ALL]

    def histogram() -> dict[str, tuple[float, float]]:
        out = {}
        for name in dataset_names:
            labels = {"source": "entsoe", "dataset": name}
            total = registry.get_sample_value(f"{names.REFRESH_DURATION}_sum", labels) or 0.0
            count = registry.get_sample_value(f"{names.REFRESH_DURATION}_count", labels) or 0.0
            out[name] = (total, count)
        return out

    def one_round() -> tuple[float, float, int]:
        due, wall, cpu = wall_and_cpu(refresher.run_due)
        return wall, cpu, len(due)

    # 1. Refresh: the cold first round (new connections, first pandas/entsoe-py calls), then warm rounds.
    cold_wall, cold_cpu, cold_jobs = one_round()
    memory["refreshed"] = rss_bytes()
    _check_loaded(exporter, zones)
    after_cold = histogram()
    warm: list[tuple[float, float]] = []
    for _ in range(warm_rounds):
        for job in refresher.jobs:
            job.next_due = 0.0
        wall, cpu, jobs = one_round()
        assert jobs == cold_jobs, (jobs, cold_jobs)
        warm.append((wall, cpu))
    after_warm = histogram()
    memory["warm_rounds"] = rss_bytes()
    warm_wall = statistics.median(w for w, _ in warm) if warm else None
    warm_cpu = statistics.median(c for _, c in warm) if warm else None

    # One more round, sequential in this thread, each job timed alone: the cost of a job
    # without the GIL waits that the pool's threads add to each other's durations.
    sequential: dict[str, list[tuple[float, float]]] = {name: [] for name in dataset_names}
    for job in refresher.jobs:
        _, wall, cpu = wall_and_cpu(lambda job=job: refresher.refresh(job))
        sequential[job.dataset].append((wall, cpu))
    per_dataset = {}
    for name in dataset_names:
        (sum0, count0), (sum1, count1) = after_cold[name], after_warm[name]
        per_dataset[name] = {
            "jobs_per_round": len(sequential[name]),
            "sequential_mean_wall_seconds": statistics.fmean(w for w, _ in sequential[name]),
            "sequential_mean_cpu_seconds": statistics.fmean(c for _, c in sequential[name]),
            # The exporter's own refresh-duration histogram, from the threaded rounds: wall
            # time per job including the waits for the GIL while other jobs parse.
            "histogram_cold_mean_seconds": sum0 / count0 if count0 else None,
            "histogram_warm_mean_seconds": (sum1 - sum0) / (count1 - count0) if count1 > count0 else None,
        }
    sequential_wall = sum(w for values in sequential.values() for w, _ in values)
    sequential_cpu = sum(c for values in sequential.values() for _, c in values)
    held_intervals = sum(
        len(intervals) for state in exporter.store.current().values() if isinstance(state.value, Profile)
        for intervals in state.value.series.values()
    )

    # 2. The parts of one generation job: parsing + reducing, and the fetch alone.
    parts = {}
    for label, file in (("fi", fake_entsoe.FI_GENERATION), ("se4", fake_entsoe.SE4_GENERATION)):
        text = (data_dir / file).read_text(encoding="utf-8")
        wall, cpu = mean_seconds(
            lambda text=text: latest_generation_mix(parse_document(text), vanished_after_seconds=settings.vanished_after_seconds),
            parse_runs,
        )
        parts[f"parse_reduce_{label}"] = {"mean_wall_seconds": wall, "mean_cpu_seconds": cpu, "payload_bytes": len(text.encode())}
    generation = datasets.GENERATION
    start, end = generation.window(datetime.now(timezone.utc), settings)
    for label, zone in (("fi", zones[0]), ("se4", zones[1])):
        payload = fake_entsoe.generation_file(list(zones).index(zone))
        assert payload == (fake_entsoe.FI_GENERATION if label == "fi" else fake_entsoe.SE4_GENERATION)
        wall, cpu = mean_seconds(
            lambda zone=zone: exporter.entsoe.source.fetch(dataset="generation", zone=zone, start=start, end=end), parse_runs,
        )
        parts[f"fetch_{label}"] = {"mean_wall_seconds": wall, "mean_cpu_seconds": cpu, "zone": zone}

    # 3. Scrapes over HTTP, sequential, one keep-alive session; then the exposition alone.
    url = f"http://127.0.0.1:{server.port}/metrics"
    session = requests.Session()
    for _ in range(5):  # warm-up, not counted
        session.get(url, timeout=10).raise_for_status()
    latencies = []
    gc.collect()
    cpu0 = time.process_time()
    body = b""
    for _ in range(scrapes):
        started = time.perf_counter()
        response = session.get(url, timeout=10)
        body = response.content
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    scrape_cpu = (time.process_time() - cpu0) / scrapes
    session.close()
    memory["scraped"] = rss_bytes()
    families = list(text_string_to_metric_families(body.decode()))
    series_total = sum(len(family.samples) for family in families)
    series_grid = sum(
        len(family.samples) for family in families
        if family.name in (names.GENERATION_WATTS, names.LOAD_WATTS, names.RENEWABLE_SHARE_RATIO, names.GRID_DATA_TIMESTAMP)
    )
    series_gridshift = sum(len(family.samples) for family in families if family.name.startswith(names.PREFIX))
    expose_wall, expose_cpu = mean_seconds(lambda: generate_latest(registry), scrapes)
    # The grid data alone, as the exporter's collector builds it at each scrape (no formatting).
    collector = GridCollector(
        store=exporter.store, staleness_limit_seconds=config.grid.staleness_limit_seconds,
        forecast=config.grid.forecast,
    )
    collect_wall, collect_cpu = mean_seconds(lambda: list(collector.collect()), scrapes)

    return {
        "zones": len(zones),
        "datasets": dataset_names,
        "jobs_per_round": cold_jobs,
        "max_concurrent_requests": config.grid.max_concurrent_requests,
        "refresh": {
            "cold_round_wall_seconds": cold_wall,
            "cold_round_cpu_seconds": cold_cpu,
            "warm_rounds": len(warm),
            "warm_round_wall_seconds_median": warm_wall,
            "warm_round_cpu_seconds_median": warm_cpu,
            "warm_rounds_wall_seconds": [w for w, _ in warm],
            "cold_per_zone_wall_seconds": cold_wall / len(zones),
            "cold_per_zone_cpu_seconds": cold_cpu / len(zones),
            "warm_per_zone_wall_seconds": warm_wall / len(zones) if warm_wall is not None else None,
            "warm_per_zone_cpu_seconds": warm_cpu / len(zones) if warm_cpu is not None else None,
            "sequential_round_wall_seconds": sequential_wall,
            "sequential_round_cpu_seconds": sequential_cpu,
            "sequential_per_zone_wall_seconds": sequential_wall / len(zones),
            "sequential_per_zone_cpu_seconds": sequential_cpu / len(zones),
            "per_dataset": per_dataset,
            "forecast_intervals_held": held_intervals,
        },
        "parts": parts,
        "scrape": {
            **latency(latencies),  # count, p50 / p95 / p99, max
            "mean_seconds": statistics.fmean(latencies),
            "cpu_seconds_per_scrape": scrape_cpu,
            "response_bytes": len(body),
            "series_total": series_total,
            "series_grid_data": series_grid,
            "series_gridshift": series_gridshift,
            "generate_latest_mean_wall_seconds": expose_wall,
            "generate_latest_mean_cpu_seconds": expose_cpu,
            "grid_collector_mean_wall_seconds": collect_wall,
            "grid_collector_mean_cpu_seconds": collect_cpu,
        },
        "memory_rss_bytes": memory,
        "memory_peak_rss_bytes": peak_rss_bytes(),
    }


def _check_loaded(exporter: Any, zones: Sequence[str]) -> None:
    """The round must have loaded what the fake serves, or the figures measure failures."""
    from gridshift import names

    registry = exporter.registry
    held = {(zone, dataset) for zone, _source, dataset in exporter.store.current()}
    expected = {(zone, dataset) for zone in zones for dataset in ("generation", "load", "generation_forecast", "wind_solar_forecast")}
    missing = sorted(expected - held)
    if missing:
        raise SystemExit(f"the refresh round did not load {len(missing)} datasets, e.g. {missing[:5]}")
    unexpected = {}
    for metric in registry.collect():
        if metric.name == names.GRID_FETCH_ERRORS:
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels.get("reason") != "no_data" and sample.value:
                    unexpected[(sample.labels["zone"], sample.labels["reason"])] = sample.value
    if unexpected:
        raise SystemExit(f"unexpected fetch errors: {unexpected}")


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms"


def table(result: dict[str, Any]) -> str:
    refresh, parts, scrape, memory = result["refresh"], result["parts"], result["scrape"], result["memory_rss_bytes"]
    zones = result["zones"]
    rows: list[tuple[str, str, str]] = [
        ("refresh", "zones x datasets (jobs per round)", f"{zones} x {len(result['datasets'])} = {result['jobs_per_round']}"),
        ("refresh", "worker threads (max_concurrent_requests)", str(result["max_concurrent_requests"])),
        ("refresh", "cold round: wall / CPU", f"{_ms(refresh['cold_round_wall_seconds'])} / {_ms(refresh['cold_round_cpu_seconds'])}"),
        ("refresh", "cold round per zone: wall / CPU", f"{_ms(refresh['cold_per_zone_wall_seconds'])} / {_ms(refresh['cold_per_zone_cpu_seconds'])}"),
        ("refresh", f"warm round (median of {refresh['warm_rounds']}): wall / CPU",
         f"{_ms(refresh['warm_round_wall_seconds_median'])} / {_ms(refresh['warm_round_cpu_seconds_median'])}"),
        ("refresh", "warm round per zone: wall / CPU", f"{_ms(refresh['warm_per_zone_wall_seconds'])} / {_ms(refresh['warm_per_zone_cpu_seconds'])}"),
    ]
    rows.append((
        "refresh", "sequential round (1 thread): wall / CPU",
        f"{_ms(refresh['sequential_round_wall_seconds'])} / {_ms(refresh['sequential_round_cpu_seconds'])}",
    ))
    rows.append((
        "refresh", "sequential per zone (5 jobs): wall / CPU",
        f"{_ms(refresh['sequential_per_zone_wall_seconds'])} / {_ms(refresh['sequential_per_zone_cpu_seconds'])}",
    ))
    for name, figures in refresh["per_dataset"].items():
        rows.append((
            "refresh", f"job {name}: wall / CPU (seq.) / histogram (thr.)",
            f"{_ms(figures['sequential_mean_wall_seconds'])} / {_ms(figures['sequential_mean_cpu_seconds'])}"
            f" / {_ms(figures['histogram_warm_mean_seconds'])}",
        ))
    rows.append(("refresh", "forecast intervals held in the snapshot", f"{refresh['forecast_intervals_held']:,}"))
    for label, title in (("fi", "FI, 15 min, 12 types"), ("se4", "SE4, 60 min, 5 types")):
        figures = parts[f"parse_reduce_{label}"]
        rows.append((
            "parts", f"parse+reduce {title} ({figures['payload_bytes'] / 1024:.0f} KiB): wall / CPU",
            f"{_ms(figures['mean_wall_seconds'])} / {_ms(figures['mean_cpu_seconds'])}",
        ))
    for label, title in (("fi", "FI payload"), ("se4", "SE4 payload")):
        figures = parts[f"fetch_{label}"]
        rows.append((
            "parts", f"fetch only, {title} (entsoe-py + HTTP): wall / CPU",
            f"{_ms(figures['mean_wall_seconds'])} / {_ms(figures['mean_cpu_seconds'])}",
        ))
    rows += [
        ("scrape", f"GET /metrics x {scrape['count']}: p50 / p95", f"{_ms(scrape['p50_seconds'])} / {_ms(scrape['p95_seconds'])}"),
        ("scrape", "p99 / max", f"{_ms(scrape['p99_seconds'])} / {_ms(scrape['max_seconds'])}"),
        ("scrape", "CPU per scrape (server + client)", _ms(scrape["cpu_seconds_per_scrape"])),
        ("scrape", "generate_latest() alone: wall / CPU",
         f"{_ms(scrape['generate_latest_mean_wall_seconds'])} / {_ms(scrape['generate_latest_mean_cpu_seconds'])}"),
        ("scrape", "  of which GridCollector.collect(): wall / CPU",
         f"{_ms(scrape['grid_collector_mean_wall_seconds'])} / {_ms(scrape['grid_collector_mean_cpu_seconds'])}"),
        ("scrape", "response size", f"{scrape['response_bytes']:,} bytes"),
        ("scrape", "series: total / gridshift_* / grid data",
         f"{scrape['series_total']} / {scrape['series_gridshift']} / {scrape['series_grid_data']}"),
        ("memory", "RSS at start (interpreter, psutil)", mib(memory["start"])),
        ("memory", "RSS after imports (flask, entsoe-py, pandas)", mib(memory["imports"])),
        ("memory", "RSS after build + server start", mib(memory["built"])),
        ("memory", "RSS after cold refresh round", mib(memory["refreshed"])),
        ("memory", "RSS after warm rounds", mib(memory["warm_rounds"])),
        ("memory", "RSS after scrapes", mib(memory["scraped"])),
        ("memory", "peak RSS (ru_maxrss)", mib(result["memory_peak_rss_bytes"])),
        ("memory", "refresh + scrapes over build", mib(memory["scraped"] - memory["built"])),
    ]
    return aligned_table(("area", "measure", "value"), rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grid_exporter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scrapes", type=int, default=200, help="timed GET /metrics (default 200)")
    parser.add_argument("--parse-runs", type=int, default=50, help="runs of each parse/fetch micro-benchmark (default 50)")
    parser.add_argument("--warm-rounds", type=int, default=3, help="refresh rounds after the cold one (default 3)")
    parser.add_argument("--output", type=Path, help="JSON result file (default benchmarks/results/grid_exporter-<time>.json)")
    args = parser.parse_args(argv)

    # The exporter logs one line per no-data answer (the load forecast of every zone) and
    # werkzeug one per request; neither is what is measured here.
    quiet_logging("werkzeug")

    began = time.perf_counter()
    result = run(scrapes=args.scrapes, parse_runs=args.parse_runs, warm_rounds=args.warm_rounds, zones=ZONES)
    stamp = datetime.now(timezone.utc)
    result = {
        **provenance("grid_exporter", 3, stamp, argv, ("gridshift", "exporters", "pyproject.toml")),
        "zone_names": list(ZONES),
        **result,
        "duration_seconds": time.perf_counter() - began,
    }
    output = write_result(result, "grid_exporter", stamp, args.output)

    info = result["machine"]
    print(f"grid exporter benchmark (issue 3): {result['zones']} ENTSO-E zones, loopback ENTSO-E with recorded payloads")
    print(f"machine: {info['nproc']} CPUs, {info['cpu_model']}, Python {info['python']}")
    source = result["source"]
    print(f"commit: {source['commit']}{' (package code modified)' if source['package_modified'] else ''}")
    print_table_and_took(table(result), result["duration_seconds"], output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
