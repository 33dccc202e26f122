"""Action service benchmark (issue 6): one alert over N opted-in namespaces, hold and restore.

Run from the repository root:

    .venv/bin/python -m benchmarks.action_service                    # 200, 500 and 1,000 namespaces
    .venv/bin/python -m benchmarks.action_service --namespaces 5     # a smoke run
    .venv/bin/python -m benchmarks                                   # every benchmark

For each size N, a Kubernetes emulator (kmock's KubernetesEmulator, tests/kube_emulator.py) runs in
a CHILD process holding N namespaces opted in with `gridshift.io/action` (pause / scale-down,
alternating, all in zone DE_LU) and `--per-namespace` workloads each (Deployments, StatefulSets and
CronJobs in turn), plus 3 nodes. This process builds the action service exactly as `gridshift
actions` does (build_config -> build_action_service -> gridshift.web.Server, the reconcile loop
running, the real `kubernetes` client over loopback HTTP) and measures, over real HTTP:

1. the idle pass (nothing to do) and webhook latency while idle: `--posts` POSTs of a repeated
   (duplicate) notification;
2. hold: from the POST of one firing GridCarbonIntensityHigh for DE_LU until the emulator has
   stored the gridshift.io/state annotation on every workload (it counts the successful PATCHes
   itself), the duration of that pass (the service's own reconcile histogram), the service's CPU
   time, and webhook latency of duplicate POSTs sent WHILE that pass runs; every workload must
   have been written exactly once;
3. a steady pass with everything held (all `keep`, no writes);
4. restore: from the POST of the resolved notification until every workload is back (no state
   annotation left) and that pass's duration;
5. resident memory of this process (the service; the emulator's is reported apart).

The emulator is single-threaded Python: at these sizes it, not the service, bounds the wall time
(its own CPU time is reported next to the service's). Two of kmock 0.8's O(n) paths are bypassed
in the child so that it stays usable at 10,000+ requests: its request log (scanned on every request;
here only in-flight requests are kept) and its object lookup after a write or a create (a scan of
every stored object; here a dict lookup). Neither changes what the service sees.

Results: a table on stdout and a JSON file under benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

from benchmarks.common import (
    ROOT, aligned_table, latency, mib, most_in_a_window, peak_rss_bytes, provenance, quiet_logging, rss_bytes,
    write_result,
)
from gridshift.config import ActionsSettings

TOKEN = "benchmark-webhook-token-5d2c"
ZONE = "DE_LU"
STATE_POINTER = "/metadata/annotations/gridshift.io~1state"
KINDS = ("Deployment", "StatefulSet", "CronJob")


# --- the emulator, in the child process ----------------------------------------------------------

def reads(requests: dict[str, int]) -> int:
    return sum(count for key, count in requests.items() if key.startswith("GET "))


def _lean_emulator_class() -> type:
    import aiohttp.web

    from tests.kube_emulator import Emulator

    class LeanEmulator(Emulator):  # type: ignore[misc, valid-type]
        """tests/kube_emulator.Emulator with kmock's O(n)-per-request paths replaced by O(1) ones,
        and counters of what the service wrote."""

        def __attrs_post_init__(self) -> None:
            super().__attrs_post_init__()
            self.inflight: set[int] = set()
            self.stats: Counter[str] = Counter()
            self.writes: Counter[tuple[str, str, str]] = Counter()  # successful PATCHes per object
            self.held: set[tuple[str, str, str]] = set()
            self.write_times: list[float] = []  # every successful PATCH and POST, as it arrived
            self.restore_times: list[float] = []  # the PATCHes that removed a hold's state

        async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
            self.inflight.add(id(request))
            method = request.method.value.upper()
            plural = request.resource.plural if request.resource is not None else ""
            try:
                response = await super()._handle(request)
            except Exception:
                self.stats[f"{method} {plural} failed"] += 1
                raise
            finally:
                self.inflight.discard(id(request))
                # kmock keeps every request and scans them all on every request: keep the in-flight ones.
                self._requests[:] = [r for r in self._requests if id(r) in self.inflight]
            self.stats[f"{method} {plural}"] += 1
            if method in ("PATCH", "POST") and response.status < 300:
                self.write_times.append(time.time())
            if method == "PATCH" and response.status < 300:
                key = (plural, request.namespace, request.name)
                self.writes[key] += 1
                for operation in request.data or []:
                    if operation.get("path") == STATE_POINTER or (
                            operation.get("path") == "/metadata/annotations"
                            and "gridshift.io/state" in (operation.get("value") or {})):
                        if operation.get("op") == "remove":
                            self.held.discard(key)
                            self.restore_times.append(time.time())
                        else:
                            self.held.add(key)
            return response

        async def _serve_update(self, request: Any) -> Any:  # after a PATCH/PUT: the stored object, by key
            async with self._lock:
                return self.objects[request.resource, request.namespace, request.name].last.raw

        async def _serve_fetch(self, request: Any) -> Any:
            import kmock

            async with self._lock:
                key = (request.resource, request.namespace, request.name)
                if key not in self.objects or self.objects[key].deleted:
                    raise kmock.KubernetesObjectNotFoundError()
                return self.objects[key].raw

        async def _serve_create(self, request: Any) -> Any:
            meta = request.data.get("metadata", {})
            async with self._lock:
                return self.objects[request.resource, request.namespace or meta.get("namespace"), meta.get("name")].raw

    return LeanEmulator


def _objects(namespaces: int, per_namespace: int) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i}", "labels": {"gridshift.io/zone": ZONE}}}
        for i in range(3)
    ]
    for n in range(namespaces):
        ns = f"team-{n:04d}"
        action = "pause" if n % 2 == 0 else "scale-down"
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "annotations": {
            "gridshift.io/action": action, "gridshift.io/zone": ZONE}}})
        for w in range(per_namespace):
            kind = KINDS[w % len(KINDS)]
            name = f"{kind.lower()}-{w}"
            template = {"metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "main", "image": f"registry.example.com/{name}:1.0"}]}}
            if kind == "CronJob":
                objects.append({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": ns},
                                "spec": {"schedule": "*/30 * * * *", "suspend": False,
                                         "jobTemplate": {"spec": {"template": template}}}})
            else:
                objects.append({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
                                "spec": {"replicas": 4, "selector": {"matchLabels": {"app": name}}, "template": template}})
    return objects


def serve_emulator(namespaces: int, per_namespace: int) -> None:
    """Child process: run the emulator with the objects loaded; answer GET /stats on a control port."""
    from tests.kube_emulator import running_emulator

    with running_emulator(_lean_emulator_class()) as emu:
        for obj in _objects(namespaces, per_namespace):
            emu.add(obj)
        process = psutil.Process()

        class Control(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                times = process.cpu_times()
                body = json.dumps({
                    "held": len(emu.held), "written_objects": len(emu.writes),
                    "max_writes_per_object": max(emu.writes.values(), default=0),
                    "min_writes_per_object": min(emu.writes.values(), default=0),
                    "requests": dict(emu.stats), "rss_bytes": process.memory_info().rss,
                    "most_writes_in_a_second": most_in_a_window(sorted(emu.write_times), 1.0),
                    "most_restores_in_a_minute": most_in_a_window(sorted(emu.restore_times), 60.0),
                    "restores_spread_seconds": (max(emu.restore_times) - min(emu.restore_times))
                    if emu.restore_times else 0.0,
                    "cpu_seconds": times.user + times.system,
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
        threading.Thread(target=control.serve_forever, daemon=True).start()
        print(json.dumps({"url": emu.base_url, "control": f"http://127.0.0.1:{control.server_port}"}), flush=True)
        sys.stdin.read()  # until the parent closes our stdin
        control.shutdown()


# --- measuring, in this process ------------------------------------------------------------------

def webhook_payload(status: str, fingerprint: str = "8a4f0c2d9e1b7f36", zone: str = ZONE) -> dict[str, Any]:
    labels = {"alertname": "GridCarbonIntensityHigh", "zone": zone, "level": "high", "severity": "warning"}
    return {
        "version": "4", "groupKey": '{}:{alertname="GridCarbonIntensityHigh"}', "truncatedAlerts": 0, "status": status,
        "receiver": "gridshift", "groupLabels": {"alertname": "GridCarbonIntensityHigh"}, "commonLabels": labels,
        "commonAnnotations": {}, "externalURL": "http://alertmanager.monitoring:9093",
        "alerts": [{"status": status, "labels": labels, "annotations": {"summary": f"{zone} intensity is high"},
                    "startsAt": "2026-11-25T08:55:00Z",
                    "endsAt": "2026-11-25T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.monitoring:9090/graph", "fingerprint": fingerprint}],
    }


class Emulator:
    """The child process running the emulator."""

    def __init__(self, namespaces: int, per_namespace: int) -> None:
        import requests

        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.action_service", "--serve-emulator", str(namespaces), str(per_namespace)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the emulator process did not start")
        endpoints = json.loads(line)
        self.url, self.control = endpoints["url"], endpoints["control"]
        self.session = requests.Session()
        self.session.trust_env = False

    def stats(self) -> dict[str, Any]:
        return self.session.get(f"{self.control}/stats", timeout=30).json()

    def wait(self, predicate: Any, timeout: float) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        while True:
            stats = self.stats()
            if predicate(stats):
                return time.perf_counter(), stats
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"timed out after {timeout:.0f} s; emulator stats: {stats}")
            time.sleep(0.01)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_size(namespaces: int, per_namespace: int, posts: int, workers: int, timeout: float,
             pacing: dict[str, float], reads_only: bool = False) -> dict[str, Any]:
    import requests

    from gridshift import names
    from gridshift.actions.app import build_action_service
    from gridshift.config import build_config
    from gridshift.web import Server
    from tests.kube_emulator import make_api_client

    workloads = namespaces * per_namespace
    memory: dict[str, int] = {"start": rss_bytes()}
    started = time.perf_counter()
    emulator = Emulator(namespaces, per_namespace)
    load_seconds = time.perf_counter() - started
    config = build_config({"actions": {"reconcile_seconds": 3600, "workers": workers, "request_timeout_seconds": 60,
                                       **pacing}}, env={"GRIDSHIFT_WEBHOOK_TOKEN": TOKEN})
    settings = config.actions
    # The pace is the point: a hold writes a patch and an Event, a restore a patch, each paced.
    hold_timeout = timeout + 2 * workloads / settings.max_writes_per_second
    restore_timeout = timeout + workloads / settings.max_writes_per_second + 60 * workloads / settings.max_resumes_per_minute
    api = make_api_client(emulator.url, connection_pool_maxsize=max(8, workers * 2))
    service = build_action_service(config, api_client=api)
    sent: list[float] = []  # when the write gate let each write go (the service's side of the pace)
    counted = service.kube.on_write

    def note_sent() -> None:
        sent.append(time.monotonic())
        if counted is not None:
            counted()

    service.kube.on_write = note_sent
    server = Server(service.app, "127.0.0.1", 0, max_body_bytes=service.served_body_limit).start()
    alerts_url = f"http://127.0.0.1:{server.port}/api/v1/alerts"
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {TOKEN}"}
    registry = service.registry

    def pass_figures() -> tuple[float, float]:
        return (registry.get_sample_value(f"{names.RECONCILE_DURATION}_sum") or 0.0,
                registry.get_sample_value(f"{names.RECONCILE_DURATION}_count") or 0.0)

    def wait_passes(count: float) -> None:
        deadline = time.perf_counter() + timeout
        while pass_figures()[1] < count:
            if time.perf_counter() > deadline:
                raise SystemExit("timed out waiting for a reconcile pass")
            time.sleep(0.005)

    def post(body: dict[str, Any]) -> float:
        began = time.perf_counter()
        response = session.post(alerts_url, json=body, headers=headers, timeout=60)
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise SystemExit(f"webhook answered {response.status_code}: {response.text[:200]}")
        return elapsed

    try:
        loop = service.loop  # the watch cache and the reconciler, as `gridshift actions` runs them
        loop.start()
        if service.cache is not None and not service.cache.wait_synced(timeout):
            raise SystemExit("the watch cache did not sync")
        wait_passes(1)
        idle_pass = pass_figures()[0]
        memory["built"] = rss_bytes()
        if reads_only:  # what a pass asks of the API server, at a size too large to hold in a benchmark
            reads_before = reads(emulator.stats()["requests"])
            service.reconciler.trigger()
            wait_passes(2)
            assert service.reconciler.wait_idle(timeout)
            return {"namespaces": namespaces, "workloads": workloads, "idle_pass_seconds": idle_pass,
                    "second_pass_seconds": pass_figures()[0] - idle_pass,
                    "api_reads_per_pass": reads(emulator.stats()["requests"]) - reads_before,
                    "emulator_load_seconds": load_seconds, "memory_rss_bytes": memory}

        # 1. webhook latency while idle: an alert for a zone no namespace uses, repeated
        other = webhook_payload("firing", fingerprint="0c1d2e3f40516273", zone="PL")
        post(other)
        wait_passes(2)
        assert service.reconciler.wait_idle(timeout)
        idle = [post(other) for _ in range(posts)]

        # 2. hold: one firing alert for everybody's zone
        before_sum, before_count = pass_figures()
        cpu_before = time.process_time()
        firing = webhook_payload("firing")
        t0 = time.perf_counter()
        post(firing)
        during: list[float] = []
        while len(during) < posts and pass_figures()[1] <= before_count:
            during.append(post(firing))  # duplicates, while the pass runs
        t_held, stats_held = emulator.wait(lambda s: s["held"] >= workloads, hold_timeout)
        assert service.reconciler.wait_idle(timeout)
        hold_cpu = time.process_time() - cpu_before
        after_sum, after_count = pass_figures()
        memory["held"] = rss_bytes()
        if stats_held["max_writes_per_object"] != 1 or stats_held["min_writes_per_object"] != 1 \
                or stats_held["written_objects"] != workloads:
            raise SystemExit(f"expected one write per workload: {stats_held}")
        hold_pass = (after_sum - before_sum) / max(1.0, after_count - before_count)

        # 3. a steady pass: everything held, nothing to write
        reads_before = reads(emulator.stats()["requests"])
        service.reconciler.trigger()
        wait_passes(after_count + 1)
        assert service.reconciler.wait_idle(timeout)
        keep_pass = pass_figures()[0] - after_sum
        reads_per_pass = reads(emulator.stats()["requests"]) - reads_before
        keep_sum, keep_count = pass_figures()

        # 4. restore
        cpu_before = time.process_time()
        t1 = time.perf_counter()
        post(webhook_payload("resolved"))
        t_restored, stats_restored = emulator.wait(lambda s: s["held"] == 0, restore_timeout)
        assert service.reconciler.wait_idle(timeout)
        restore_cpu = time.process_time() - cpu_before
        restore_sum, restore_count = pass_figures()
        memory["restored"] = rss_bytes()
        if stats_restored["max_writes_per_object"] != 2 or stats_restored["min_writes_per_object"] != 2:
            raise SystemExit(f"expected one write per workload to restore: {stats_restored}")
        emulator_stats = emulator.stats()
    finally:
        server.stop()
        service.loop.stop()
        emulator.close()
        api.close()

    return {
        "namespaces": namespaces,
        "workloads": workloads,
        "workers": workers,
        "emulator_load_seconds": load_seconds,
        "idle_pass_seconds": idle_pass,
        "hold": {
            "webhook_to_all_patched_seconds": t_held - t0,
            "pass_seconds": hold_pass,
            "service_cpu_seconds": hold_cpu,
            "per_workload_seconds": (t_held - t0) / workloads,
        },
        "keep_pass_seconds": keep_pass,
        "api_reads_per_pass": reads_per_pass,
        "pacing": {**pacing, "most_writes_sent_in_a_second": most_in_a_window(sorted(sent), 1.0),
                   "most_writes_in_a_second": emulator_stats["most_writes_in_a_second"],
                   "most_restores_in_a_minute": emulator_stats["most_restores_in_a_minute"],
                   "restores_spread_seconds": emulator_stats["restores_spread_seconds"]},
        "restore": {
            "webhook_to_all_restored_seconds": t_restored - t1,
            "pass_seconds": (restore_sum - keep_sum) / max(1.0, restore_count - keep_count),
            "service_cpu_seconds": restore_cpu,
        },
        "webhook_idle": latency(idle),
        "webhook_during_pass": latency(during) if during else None,
        "emulator": {"requests": emulator_stats["requests"], "rss_bytes": emulator_stats["rss_bytes"],
                     "cpu_seconds": emulator_stats["cpu_seconds"]},
        "memory_rss_bytes": memory,
    }


# --- report ------------------------------------------------------------------------------------

def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.1f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def table(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    headers = ("measure", *(f"{s['namespaces']:,} ns / {s['workloads']:,} wl" for s in sizes))
    rows: list[tuple[str, ...]] = []

    def row(label: str, cell: Any) -> None:
        rows.append((label, *(cell(s) for s in sizes)))

    row("idle pass (nothing to do)", lambda s: _ms(s["idle_pass_seconds"]))
    row("hold: webhook POST -> all patched", lambda s: _s(s["hold"]["webhook_to_all_patched_seconds"]))
    row("hold: pass duration", lambda s: _s(s["hold"]["pass_seconds"]))
    row("hold: per workload (wall)", lambda s: _ms(s["hold"]["per_workload_seconds"]))
    row("hold: service CPU", lambda s: _s(s["hold"]["service_cpu_seconds"]))
    row("steady pass, all held (keep)", lambda s: _ms(s["keep_pass_seconds"]))
    row("API reads in a pass (GET requests)", lambda s: f"{s['api_reads_per_pass']:,}")
    row("writes: most sent in any second (limit)", lambda s: f"{s['pacing']['most_writes_sent_in_a_second']} "
                                                             f"({s['pacing']['max_writes_per_second']:g})")
    row("writes: most arrived in any second", lambda s: str(s["pacing"]["most_writes_in_a_second"]))
    row("restores: most in any minute (limit)", lambda s: f"{s['pacing']['most_restores_in_a_minute']:,} "
                                                          f"({s['pacing']['max_resumes_per_minute']:g})")
    row("restores: first to last", lambda s: _s(s["pacing"]["restores_spread_seconds"]))
    row("restore: webhook POST -> all restored", lambda s: _s(s["restore"]["webhook_to_all_restored_seconds"]))
    row("restore: pass duration", lambda s: _s(s["restore"]["pass_seconds"]))
    row("restore: service CPU", lambda s: _s(s["restore"]["service_cpu_seconds"]))
    for key, label in (("webhook_idle", "webhook idle"), ("webhook_during_pass", "webhook during hold pass")):
        row(f"{label}: n", lambda s, k=key: str(s[k]["count"]) if s[k] else "0")
        row(f"{label}: p50 / p95 / p99", lambda s, k=key: " / ".join(
            _ms(s[k][f"p{q}_seconds"]) for q in (50, 95, 99)) if s[k] else "-")
    row("service RSS: built / held / restored", lambda s: " / ".join(
        mib(s["memory_rss_bytes"][k]) for k in ("built", "held", "restored")))
    row("service peak RSS (ru_maxrss)", lambda s: mib(s["memory_peak_rss_bytes"]))
    row("emulator (child) RSS / CPU", lambda s: f"{mib(s['emulator']['rss_bytes'])} / {_s(s['emulator']['cpu_seconds'])}")
    row("emulator PATCH / POST events (hold+restore)", lambda s: f"{s['emulator']['requests'].get('PATCH deployments', 0) + s['emulator']['requests'].get('PATCH statefulsets', 0) + s['emulator']['requests'].get('PATCH cronjobs', 0):,} / {s['emulator']['requests'].get('POST events', 0):,}")
    footer = (f"actions.workers={sizes[0]['workers']}; {result['per_namespace']} workloads per namespace "
              f"(Deployment, StatefulSet, CronJob in turn); {result['machine']['nproc']} CPUs ({result['machine']['cpu_model']})")
    return aligned_table(headers, rows) + "\n" + footer


def reads_table(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    headers = ("measure", *(f"{s['namespaces']:,} ns / {s['workloads']:,} wl" for s in sizes))
    rows = [("API reads in a pass (GET requests)", *(f"{s['api_reads_per_pass']:,}" for s in sizes)),
            ("first pass / second pass", *(f"{_s(s['idle_pass_seconds'])} / {_s(s['second_pass_seconds'])}" for s in sizes)),
            ("service RSS after the first pass", *(mib(s["memory_rss_bytes"]["built"]) for s in sizes))]
    return aligned_table(headers, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.action_service", description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespaces", default="200,500,1000",
                        help="comma-separated namespace counts, one run each (default 200,500,1000)")
    parser.add_argument("--per-namespace", type=int, default=5, help="workloads per namespace (default 5)")
    parser.add_argument("--posts", type=int, default=200, help="timed webhook POSTs per phase (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="actions.workers (default 4, the default config)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="give up on a phase after this many seconds more than its pace needs")
    parser.add_argument("--max-writes-per-second", type=float, default=ActionsSettings.max_writes_per_second,
                        help="actions.max_writes_per_second (default: the config's)")
    parser.add_argument("--max-resumes-per-minute", type=int, default=ActionsSettings.max_resumes_per_minute,
                        help="actions.max_resumes_per_minute (default: the config's)")
    parser.add_argument("--output", type=Path, help="JSON result file (default benchmarks/results/action_service-<time>.json)")
    parser.add_argument("--reads-only", action="store_true",
                        help="only the idle passes: API reads a pass and pass time (for sizes too large to hold)")
    parser.add_argument("--serve-emulator", nargs=2, type=int, metavar=("NAMESPACES", "PER_NAMESPACE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_emulator:
        serve_emulator(*args.serve_emulator)
        return 0

    quiet_logging("werkzeug", "gridshift.decisions")  # one JSON line per decision is not what is measured
    if args.one_size is not None:
        pacing = {"max_writes_per_second": args.max_writes_per_second, "max_resumes_per_minute": args.max_resumes_per_minute}
        measured = run_size(args.one_size, args.per_namespace, args.posts, args.workers, args.timeout, pacing,
                            reads_only=args.reads_only)
        measured["memory_peak_rss_bytes"] = peak_rss_bytes()
        print(json.dumps(measured), flush=True)
        return 0

    began = time.perf_counter()
    sizes = [int(value) for value in args.namespaces.split(",") if value.strip()]
    results = []
    for size in sizes:  # each size in a fresh interpreter, so its memory figures are its own
        print(f"... {size:,} namespaces x {args.per_namespace} workloads", file=sys.stderr, flush=True)
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.action_service", "--one-size", str(size), "--per-namespace",
             str(args.per_namespace), "--posts", str(args.posts), "--workers", str(args.workers), "--timeout",
             str(args.timeout), "--max-writes-per-second", str(args.max_writes_per_second),
             "--max-resumes-per-minute", str(args.max_resumes_per_minute), *(["--reads-only"] if args.reads_only else [])],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
        if child.returncode != 0:
            print(f"the run with {size} namespaces failed (exit {child.returncode})", file=sys.stderr)
            return 1
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    stamp = datetime.now(timezone.utc)
    result = {
        **provenance("action_service", 6, stamp, argv, ("gridshift", "actions", "pyproject.toml")),
        "per_namespace": args.per_namespace,
        "sizes": results,
        "total_seconds": time.perf_counter() - began,
    }
    print(reads_table(result) if args.reads_only else table(result))
    output = write_result(result, "action_service", stamp, args.output)
    print(f"\nwritten {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output} "
          f"in {result['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
