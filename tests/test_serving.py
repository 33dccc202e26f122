"""Issue 19 item 1 and defect 4: the HTTP server every gridshift process runs (gridshift.web.Server,
waitress), served for real on loopback and spoken to over raw sockets: slow and silent clients
are cut at the request timeout and never hold a thread, the connection and body caps hold, a
shutdown finishes what it started and refuses what comes after, /metrics can have its own port,
and the grid exporter's exposition is rendered once per refresh, not once per scrape.
Every test is bounded: a few hundred sockets at most, a few seconds at most."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest
import requests
from flask import Flask
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily

from gridshift.cli import shut_down
from gridshift.serving_settings import ServingSettings
from gridshift.web import ExpositionCache, Server, create_app, create_metrics_app

FAST = ServingSettings(request_timeout_seconds=1, idle_timeout_seconds=2, max_connections=400, threads=2)


def app_with_slow_route(seconds: float = 0.6) -> Flask:
    app = create_app(registry=CollectorRegistry(), readiness=lambda: (True, {}))

    @app.get("/slow")
    def slow() -> dict[str, str]:
        time.sleep(seconds)
        return {"status": "done"}

    return app


@contextmanager
def serving(app: Flask | None = None, settings: ServingSettings = FAST, **kwargs: int) -> Iterator[Server]:
    server = Server(app or app_with_slow_route(), "127.0.0.1", 0, settings, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def closed_within(sock: socket.socket, seconds: float, *, trickle: bytes = b"") -> float | None:
    """Seconds until the server closes `sock` (sending `trickle` every 0.2 s meanwhile), None if it stays open."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < seconds:
        try:
            if trickle:
                sock.sendall(trickle)
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
    return None


def get(server: Server, path: str = "/healthz", timeout: float = 5) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{server.port}{path}", timeout=timeout)


def test_a_client_trickling_its_headers_is_cut_at_the_request_timeout() -> None:
    with serving() as server, closing(socket.create_connection(("127.0.0.1", server.port))) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        took = closed_within(slow, 5, trickle=b"X-a: b\r\n")  # a byte more every 0.2 s: never idle
        assert took is not None and took < FAST.request_timeout_seconds + 1.5


def test_a_connection_that_sends_nothing_is_closed_at_the_request_timeout() -> None:
    with serving() as server, closing(socket.create_connection(("127.0.0.1", server.port))) as silent:
        took = closed_within(silent, 5)
        assert took is not None and took < FAST.request_timeout_seconds + 1.5


def test_an_idle_keep_alive_connection_stays_until_the_idle_timeout() -> None:
    with serving() as server, closing(socket.create_connection(("127.0.0.1", server.port))) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in sock.recv(4096)
        took = closed_within(sock, 6)
        assert took is not None and FAST.request_timeout_seconds < took < FAST.idle_timeout_seconds + 1.5


def test_three_hundred_half_open_connections_hold_no_thread_and_others_are_still_answered() -> None:
    with serving() as server:
        threads_before = threading.active_count()
        sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
        try:
            for sock in sockets:
                sock.sendall(b"POST /api HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            assert get(server).json() == {"status": "ok"}
            assert threading.active_count() <= threads_before + 1  # Werkzeug's server: +300
        finally:
            for sock in sockets:
                sock.close()


def test_past_max_connections_the_server_stops_accepting_until_some_close() -> None:
    capped = ServingSettings(request_timeout_seconds=1, max_connections=8, threads=2)
    with serving(settings=capped) as server:
        hogs = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(12)]
        try:
            with pytest.raises(requests.exceptions.ReadTimeout):
                get(server, timeout=0.5)
        finally:
            for sock in hogs:
                sock.close()
        assert get(server).status_code == 200  # capacity is back once they are gone


def test_a_body_over_the_cap_is_refused_with_json_before_it_is_read() -> None:
    with serving(max_body_bytes=1024) as server, closing(socket.create_connection(("127.0.0.1", server.port))) as sock:
        sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 2048)
        sock.settimeout(5)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"application/json" in head
    assert json.loads(body)["error"].startswith("Request Entity Too Large")


def test_headers_over_the_cap_are_refused() -> None:
    settings = ServingSettings(max_header_bytes=2048)
    with serving(settings=settings) as server:
        response = requests.get(f"http://127.0.0.1:{server.port}/healthz", headers={"X-Big": "a" * 4096}, timeout=5)
    assert response.status_code == 431 and response.json()["error"]


def test_stopping_finishes_the_request_in_flight_and_refuses_new_connections() -> None:
    server = Server(app_with_slow_route(0.6), "127.0.0.1", 0, FAST).start()
    answers: list[requests.Response] = []
    in_flight = threading.Thread(target=lambda: answers.append(get(server, "/slow")))
    in_flight.start()
    time.sleep(0.2)  # the request is running
    server.stop_accepting()
    with pytest.raises(requests.exceptions.ConnectionError):
        get(server, timeout=1)
    server.stop(timeout=5)
    in_flight.join(timeout=5)
    assert [answer.json() for answer in answers] == [{"status": "done"}]


class SlowLoop:
    def __init__(self, stop_takes: float) -> None:
        self.stop_takes, self.stopped = stop_takes, threading.Event()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        time.sleep(self.stop_takes)
        self.stopped.set()


@pytest.mark.parametrize("stop_takes, grace, finished", [(0.3, 3, True), (30, 2, False)])
def test_shut_down_waits_for_the_pass_but_never_past_the_grace_period(stop_takes: float, grace: int,
                                                                       finished: bool) -> None:
    server = Server(app_with_slow_route(), "127.0.0.1", 0, FAST).start()
    loop = SlowLoop(stop_takes)
    started = time.monotonic()
    assert shut_down([server], loop, grace_seconds=grace) is finished
    assert time.monotonic() - started < grace + 0.5
    assert loop.stopped.is_set() is finished
    with pytest.raises(requests.exceptions.ConnectionError):
        get(server, timeout=1)


def test_metrics_on_their_own_port_and_not_on_the_main_one() -> None:
    registry = CollectorRegistry()
    Counter("gridshift_test_events", "events", registry=registry).inc()
    app = create_app(registry=registry, readiness=lambda: (True, {}), serve_metrics=False)
    with serving(app) as main, serving(create_metrics_app(app)) as metrics:
        assert get(main, "/metrics").status_code == 404
        assert get(main, "/readyz").json() == {"ready": True}
        assert "gridshift_test_events_total 1.0" in get(metrics, "/metrics").text
        assert get(metrics, "/readyz").status_code == 404


class CountingCollector:
    def __init__(self) -> None:
        self.collects = 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        self.collects += 1
        yield GaugeMetricFamily("gridshift_test_value", "value", value=self.collects)


def test_the_exposition_is_rendered_once_a_refresh_and_when_too_old_not_once_a_scrape() -> None:
    registry, collector = CollectorRegistry(), CountingCollector()
    registry.register(collector)
    version, now = [object()], [1000.0]
    cache = ExpositionCache(registry, version=lambda: version[0], max_age_seconds=15, clock=lambda: now[0])
    assert [cache() for _ in range(50)][-1] == cache() and collector.collects == 1
    version[0] = object()  # a refresh published new views
    assert b"gridshift_test_value 2.0" in cache() and collector.collects == 2
    now[0] += 11
    assert cache.render_if_due() is False and collector.collects == 2
    now[0] += 1  # 12 s: 80 % of the allowed age, the renderer renders ahead of the scrapes
    assert cache.render_if_due() is True and collector.collects == 3
    now[0] += 15
    assert b"gridshift_test_value 4.0" in cache()  # no renderer ran: the scrape renders itself


def test_the_renderer_thread_renders_after_a_refresh_without_a_scrape() -> None:
    registry, collector = CollectorRegistry(), CountingCollector()
    registry.register(collector)
    version = [object()]
    cache = ExpositionCache(registry, version=lambda: version[0], poll_seconds=0.05)
    cache.start()
    try:
        deadline = time.monotonic() + 5
        while collector.collects < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        version[0] = object()
        while collector.collects < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert collector.collects == 2
    finally:
        cache.stop()
