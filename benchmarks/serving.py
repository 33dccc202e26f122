"""HTTP server benchmark (issue 19 item 1): which WSGI server gridshift serves its endpoints on.

Run from the repository root:

    .venv/bin/python -m benchmarks.serving                # 1,500 slow clients, 2,000 requests
    .venv/bin/python -m benchmarks.serving --slow 200 --requests 300

Three candidates serve the same app (gridshift.web.create_app with a registry of 1,000 series,
about a grid exporter's size) on loopback in this process, one after another:
- werkzeug: Werkzeug's threaded development server, what gridshift ran on before;
- cheroot: CherryPy's server, a thread pool behind a connection manager;
- waitress: what gridshift.web.Server runs, with its settings (gridshift.serving_settings).

For each:
1. slow clients: `--slow` connections each send half a request's headers and then nothing
   (slowloris); measured: threads and resident memory they add, and how long until the server
   has closed all of them (10 s request timeout, the same for every candidate that has one;
   connections past a cap wait in the listen backlog and are cut in their turn);
2. answered meanwhile: GET /healthz from a fresh client while they are held (answered or not
   within 2 s, and its latency): a server that caps connections protects itself but makes
   others wait;
3. plain load: `--requests` GET /metrics over 4 keep-alive clients at once: p50 / p99 latency.
Results: a table on stdout and JSON under benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import logging
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
import requests
from prometheus_client import CollectorRegistry, Gauge

from benchmarks.common import aligned_table, latency, mib, print_table_and_took, provenance, quiet_logging, write_result
from gridshift.serving_settings import ServingSettings
from gridshift.web import Server, create_app

SETTINGS = ServingSettings()
CLIENTS = 4


class Candidate:
    """A server on loopback: start() returns its port; stop()."""

    name = ""

    def start(self, app: Any) -> int:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Werkzeug(Candidate):
    name = "werkzeug"

    def start(self, app: Any) -> int:
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._server.timeout = SETTINGS.request_timeout_seconds
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return int(self._server.server_port)

    def stop(self) -> None:
        self._server.shutdown()


class Cheroot(Candidate):
    name = "cheroot"

    def start(self, app: Any) -> int:
        from cheroot import wsgi

        self._server = wsgi.Server(("127.0.0.1", 0), app, numthreads=SETTINGS.threads,
                                   timeout=SETTINGS.request_timeout_seconds)
        self._server.prepare()
        threading.Thread(target=self._server.serve, daemon=True).start()
        return int(self._server.bind_addr[1])

    def stop(self) -> None:
        self._server.stop()


class Waitress(Candidate):
    name = "waitress (gridshift)"

    def start(self, app: Any) -> int:
        self._server = Server(app, "127.0.0.1", 0, SETTINGS).start()
        return self._server.port

    def stop(self) -> None:
        self._server.stop()


SERVERS = ("werkzeug", "cheroot", "waitress")


def candidates(names: Sequence[str]) -> list[Candidate]:
    found: list[Candidate] = []
    if "werkzeug" in names:
        found.append(Werkzeug())
    if "cheroot" in names:
        try:
            import cheroot  # noqa: F401  (not a dependency: `pip install cheroot` to compare it)

            found.append(Cheroot())
        except ImportError:
            print("cheroot is not installed: not compared (pip install cheroot)", file=sys.stderr)
    if "waitress" in names:
        found.append(Waitress())
    return found


def app_of_size(series: int) -> Any:
    registry = CollectorRegistry()
    gauge = Gauge("gridshift_benchmark_value", "a value", ["zone", "series"], registry=registry)
    for index in range(series):
        gauge.labels(f"Z{index % 43}", str(index)).set(index)
    return create_app(registry=registry, readiness=lambda: (True, {}))


def slow_clients(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: benchmark\r\n")  # headers never finished
        sockets.append(sock)
    return sockets


def still_open(sockets: Sequence[socket.socket]) -> int:
    """How many the server has not closed (a closed one reads end-of-file or resets)."""
    open_count = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            open_count += sock.recv(1) != b""
        except BlockingIOError:
            open_count += 1
        except OSError:
            pass
    return open_count


def timed(function: Callable[[], Any]) -> tuple[float | None, str]:
    started = time.perf_counter()
    try:
        function()
    except requests.RequestException as error:
        return None, type(error).__name__
    return time.perf_counter() - started, "answered"


def measure(candidate: Candidate, *, slow: int, requests_count: int) -> dict[str, Any]:
    process = psutil.Process()
    port = candidate.start(app_of_size(1000))
    base = f"http://127.0.0.1:{port}"
    try:
        requests.get(f"{base}/healthz", timeout=5)
        threads, rss = threading.active_count(), process.memory_info().rss
        held = slow_clients(port, slow)
        time.sleep(0.5)
        added = {"threads": threading.active_count() - threads, "rss_bytes": process.memory_info().rss - rss}
        answered_in, answer = timed(lambda: requests.get(f"{base}/healthz", timeout=2).raise_for_status())
        released_after = wait_released(held, limit=3 * SETTINGS.request_timeout_seconds + 5)
        left = still_open(held)
        for sock in held:
            sock.close()
        time.sleep(0.5)
        load = plain_load(base, requests_count)
    finally:
        candidate.stop()
    return {"server": candidate.name, "slow_clients": slow, "added": added, "healthz_meanwhile": answer,
            "healthz_meanwhile_seconds": answered_in, "released_after_seconds": released_after,
            "held_at_the_end": left, "load": load}


def wait_released(sockets: Sequence[socket.socket], *, limit: float) -> float | None:
    """Seconds until the server has closed every one of `sockets`; None if some are still open after `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if still_open(sockets) == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def plain_load(base: str, count: int) -> dict[str, Any]:
    def client(share: int) -> list[float]:
        with requests.Session() as session:
            times = []
            for _ in range(share):
                started = time.perf_counter()
                session.get(f"{base}/metrics", timeout=10).raise_for_status()
                times.append(time.perf_counter() - started)
            return times

    with ThreadPoolExecutor(CLIENTS) as pool:
        began = time.perf_counter()
        shares = list(pool.map(client, [count // CLIENTS] * CLIENTS))
        took = time.perf_counter() - began
    times = [t for share in shares for t in share]
    return {**latency(times), "requests_per_second": len(times) / took}


def released(row: dict[str, Any]) -> str:
    if row["released_after_seconds"] is None:
        return f"{row['held_at_the_end']} of {row['slow_clients']} still held"
    return f"all after {row['released_after_seconds']:.1f} s"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def table(result: dict[str, Any]) -> str:
    rows = []
    for row in result["servers"]:
        meanwhile = row["healthz_meanwhile"]
        if row["healthz_meanwhile_seconds"] is not None:
            meanwhile = f"in {_ms(row['healthz_meanwhile_seconds'])}"
        load = row["load"]
        rows.append([row["server"], f"+{row['added']['threads']}", f"+{mib(row['added']['rss_bytes'])}",
                     released(row), meanwhile,
                     f"{_ms(load['p50_seconds'])} / {_ms(load['p99_seconds'])}", f"{load['requests_per_second']:.0f}"])
    return aligned_table(["server", "threads", "memory", "slow clients released",
                          "/healthz meanwhile", f"/metrics p50 / p99 ({CLIENTS} clients)", "requests/s"], rows)


def raise_open_files_limit() -> None:
    """Each slow client takes two descriptors here (both ends are in this process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serving", description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=1500, help="slow clients held open (default 1500)")
    parser.add_argument("--requests", type=int, default=2000, help="GET /metrics under plain load (default 2000)")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"which to measure (default {','.join(SERVERS)})")
    parser.add_argument("--output", type=Path, help="JSON result file (default benchmarks/results/serving-<time>.json)")
    args = parser.parse_args(argv)
    quiet_logging("werkzeug", "waitress", "waitress.queue", "cheroot")
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "connection limit reached" is the point here
    raise_open_files_limit()
    began = time.perf_counter()
    servers = [measure(candidate, slow=args.slow, requests_count=args.requests) for candidate in candidates(args.servers.split(","))]
    stamp = datetime.now(timezone.utc)
    result = {**provenance("serving", 19, stamp, argv, ("gridshift", "pyproject.toml")), "servers": servers,
              "settings": SETTINGS.__dict__, "duration_seconds": time.perf_counter() - began}
    output = write_result(result, "serving", stamp, args.output)
    print(f"HTTP server benchmark (issue 19): {args.slow} slow clients, then {args.requests} scrapes of 1,000 series")
    print_table_and_took(table(result), result["duration_seconds"], output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
