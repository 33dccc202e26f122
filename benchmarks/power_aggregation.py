"""Power exporter benchmark (issue 5): one aggregation cycle over many Kepler nodes.

Run from the repository root:

    .venv/bin/python -m benchmarks.power_aggregation            # 100 nodes x 5,000 containers
    .venv/bin/python -m benchmarks.power_aggregation --nodes 10 --containers 500

Every node serves the real Kepler 0.7.x dump scaled to `--containers` containers
(benchmarks/power_fake_kepler.py: its 22 containers replicated with new ids, pods and
namespaces, all 25 families kept) from a loopback server in a child process. The exporter is
built as `gridshift power-exporter` builds it (build_power_exporter, static targets), and
`refresher.run_cycle()` is timed: the first cycle (baseline) and `--cycles` more.

Measured in this process only (the fake Keplers' CPU and memory are not counted):
1. the cycle: wall and CPU time (time.process_time: all threads);
2. its parts, by wrapping the steps in place (same code path): in the scrape workers, the thread
   CPU time of reading the body and keeping the energy families (streamed: HTTP client, family
   selection) and of reading their sample lines (prometheus-client's parser for lines not seen
   before, the remembered result for the others), summed over workers; in the refresher's
   thread, the wall time of accumulating every reading;
3. one node's payload: size, lines, and one KeplerParser reading it cold (every line new to the
   field's parser) and warm (the same series, new values);
4. GET /metrics rendering (generate_latest) and its series;
5. resident memory (psutil RSS) after start-up and after the cycles, and the peak (ru_maxrss).

Results: a table on stdout and a JSON file under benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from benchmarks import power_fake_kepler
from benchmarks.common import MIB, peak_rss_bytes, print_table_and_took, rss_bytes, wall_and_cpu, write_result


class Timed:
    """Wraps a callable; sums the wall or thread-CPU seconds of its calls, from any thread."""

    def __init__(self, function: Callable[..., Any], clock: Callable[[], float]) -> None:
        self.function, self.clock = function, clock
        self.seconds, self.calls = 0.0, 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = self.clock()
        try:
            return self.function(*args, **kwargs)
        finally:
            with self._lock:
                self.seconds += self.clock() - started
                self.calls += 1

    def take(self) -> tuple[float, int]:
        with self._lock:
            taken = (self.seconds, self.calls)
            self.seconds, self.calls = 0.0, 0
        return taken


def run(*, nodes: int, containers: int, cycles: int, workers: int) -> dict[str, Any]:
    from gridshift import recordings

    memory = {"start": rss_bytes()}
    dump = recordings.REPO_DATA_DIR / "kepler" / "datadog_kepler_0.7.x_kind_cluster_metrics.txt"
    if not dump.is_file():
        raise SystemExit(f"the Kepler dump is missing: {dump} (the repository's data/)")

    from prometheus_client import generate_latest

    import requests

    from gridshift.exporters.power.app import build_power_exporter
    from gridshift.zone_settings import ClusterSettings
    from gridshift.exporters.power.parse import KeplerParser
    from gridshift.power_settings import KeplerSettings, PowerSettings

    memory["imports"] = rss_bytes()
    fake = power_fake_kepler.start_in_child(dump=dump, containers=containers)
    try:
        names = [f"node-{i:03d}" for i in range(nodes)]
        settings = PowerSettings(
            scrape_interval_seconds=600, scrape_timeout_seconds=600, max_concurrent_scrapes=workers,
            kepler=KeplerSettings(static_targets={n: fake.target(n) for n in names}),
        )
        exporter = build_power_exporter(settings, kube_api_client=None, cluster=ClusterSettings(default_zone="DE_LU"))
        refresher = exporter.refresher
        assert refresher.scraper is not None
        memory["built"] = rss_bytes()

        payload = requests.get(fake.target(names[0]), timeout=60).content
        rescaled = payload.replace(b"} 0\n", b"} 1\n")  # the same series, some values changed
        parser = KeplerParser()
        started = time.perf_counter()
        reading = parser.parse([payload])
        cold = time.perf_counter() - started
        started = time.perf_counter()
        parser.parse([rescaled])
        warm = time.perf_counter() - started
        one = {"bytes": len(payload), "lines": payload.count(b"\n"), "containers": len(reading.series),
               "namespaces": len({s.namespace for s in reading.series.values()}),
               "parse_cold_seconds": cold, "parse_warm_seconds": warm}
        del payload, rescaled, reading, parser

        whole = Timed(KeplerParser.parse, time.thread_time)
        lines = Timed(KeplerParser._read, time.thread_time)
        add = Timed(refresher.accumulator.add, time.perf_counter)
        KeplerParser.parse = lambda self, chunks: whole(self, chunks)  # type: ignore[method-assign]
        KeplerParser._read = lambda self, *args: lines(self, *args)  # type: ignore[method-assign]
        refresher.accumulator.add = add  # type: ignore[method-assign]
        rounds = []
        for index in range(cycles + 1):
            _, wall, cpu = wall_and_cpu(refresher.run_cycle)
            read_seconds, parsed = whole.take()
            lines_seconds, _ = lines.take()
            add_seconds, added = add.take()
            rounds.append({"cycle": "first (cold)" if index == 0 else f"steady {index}", "wall_seconds": wall,
                           "cpu_seconds": cpu, "select_cpu_seconds": read_seconds - lines_seconds,
                           "parse_cpu_seconds": lines_seconds, "accumulate_seconds": add_seconds,
                           "nodes_parsed": parsed, "nodes_accumulated": added})
            memory[f"after_cycle_{index}"] = rss_bytes()
        KeplerParser.parse, KeplerParser._read = whole.function, lines.function  # type: ignore[method-assign]
        up = sum(1 for n in refresher.store.current()["current"].nodes.values() if n.scrape_up)

        renders = 5
        started = time.perf_counter()
        for _ in range(renders):
            text = generate_latest(exporter.registry)
        render = {"seconds": (time.perf_counter() - started) / renders, "bytes": len(text),
                  "series": sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))}
        refresher.stop()
    finally:
        fake.stop()
    memory["peak"] = peak_rss_bytes()
    return {"nodes": nodes, "containers_per_node": containers, "workers": workers, "nodes_up": up,
            "one_node": one, "cycles": rounds, "render": render, "memory_bytes": memory}


def table(result: dict[str, Any]) -> str:
    one, render, memory = result["one_node"], result["render"], result["memory_bytes"]
    last = f"after_cycle_{len(result['cycles']) - 1}"
    rows = [
        ("one node's payload", f"{one['bytes'] / MIB:.1f} MiB, {one['lines']:,} lines, "
                               f"{one['containers']:,} containers in {one['namespaces']} namespaces"),
        ("one node, parse cold / warm", f"{one['parse_cold_seconds'] * 1000:.0f} ms / {one['parse_warm_seconds'] * 1000:.0f} ms"),
    ]
    for c in result["cycles"]:
        rows.append((f"cycle, {c['cycle']}",
                     f"{c['wall_seconds']:.2f} s wall, {c['cpu_seconds']:.2f} s CPU = read+select "
                     f"{c['select_cpu_seconds']:.2f} s + parse {c['parse_cpu_seconds']:.2f} s (workers' CPU, "
                     f"{c['nodes_parsed']} nodes) + accumulate {c['accumulate_seconds'] * 1000:.0f} ms "
                     f"({c['nodes_accumulated']} nodes) + rest"))
    rows += [
        ("GET /metrics render", f"{render['seconds'] * 1000:.1f} ms, {render['series']:,} series, "
                                f"{render['bytes'] / 1024:.0f} KiB"),
        ("RSS after start-up", f"{memory['built'] / MIB:.0f} MiB"),
        ("RSS after the cycles", f"{memory[last] / MIB:.0f} MiB"),
        ("peak RSS", f"{memory['peak'] / MIB:.0f} MiB"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"| {name:<{width}} | {value} |" for name, value in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.power_aggregation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100, help="Kepler nodes (default 100)")
    parser.add_argument("--containers", type=int, default=5000, help="containers per node (default 5000)")
    parser.add_argument("--cycles", type=int, default=2, help="cycles after the first (default 2)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent scrapes (default 8, the setting's default)")
    parser.add_argument("--output", type=Path, help="JSON result file (default benchmarks/results/power_aggregation-<time>.json)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(nodes=args.nodes, containers=args.containers, cycles=args.cycles, workers=args.workers)
    result["duration_seconds"] = time.perf_counter() - started
    result["machine"] = {"nproc": psutil.cpu_count(), "python": sys.version.split()[0],
                         "memory_total_bytes": psutil.virtual_memory().total}
    output = write_result(result, "power_aggregation", datetime.now(timezone.utc), args.output)
    print(f"power exporter benchmark (issue 5): {result['nodes']} nodes x {result['containers_per_node']:,} containers "
          f"(the real Kepler 0.7.x dump scaled), {result['workers']} scrape workers, {result['nodes_up']} nodes up")
    print(f"machine: {result['machine']['nproc']} CPUs, Python {result['machine']['python']}")
    print_table_and_took(table(result), result["duration_seconds"], output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
