"""Fixtures: the real Kepler dump, local Keplers over HTTP, the intensity API, a Kubernetes
emulator (kmock, the real `kubernetes` client over HTTP), and a power exporter wired to them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response, request
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from gridshift.config import _build
from gridshift.exporters.power.app import PowerExporter, build_power_exporter
from gridshift.power_settings import PowerSettings
from gridshift.zone_settings import ClusterSettings
from gridshift.web import Server
from tests.conftest import Clock
from tests.kube_emulator import Emulator, make_api_client, running_emulator

Labels = tuple[tuple[str, str], ...]


@pytest.fixture(scope="session")
def dump(recorded_data: Path) -> str:
    return (recorded_data / "kepler" / "datadog_kepler_0.7.x_kind_cluster_metrics.txt").read_text(encoding="utf-8")


@dataclass
class FakeKepler:
    """Kepler on several loopback addresses (one per node, like pod IPs), all on one port.

    Each node answers `payload[node]`, after `delay[node]` seconds, with `status[node]`; with
    `drip[node]`, the body comes in five parts that many seconds apart.
    """

    addresses: dict[str, str]  # node -> 127.0.0.x
    port: int = 0
    payload: dict[str, str] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    drip: dict[str, float] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, node: str) -> str:
        return f"http://{self.addresses[node]}:{self.port}/metrics"

    def app(self) -> Flask:
        app = Flask("fake-kepler")
        by_address = {address: node for node, address in self.addresses.items()}

        @app.get("/metrics")
        def metrics() -> Response:
            node = by_address[request.host.rsplit(":", 1)[0]]
            self.hits[node] = self.hits.get(node, 0) + 1
            time.sleep(self.delay.get(node, 0.0))
            body, pause = self.payload.get(node, ""), self.drip.get(node)
            if pause:
                parts = [body[i * len(body) // 5:(i + 1) * len(body) // 5] for i in range(5)]
                return Response((time.sleep(pause) or part for part in parts), mimetype="text/plain; version=0.0.4")
            return Response(body, status=self.status.get(node, 200), mimetype="text/plain; version=0.0.4")

        return app


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """HTTP servers started by a test; stopped together (each stop waits up to 0.5 s)."""
    started: list[Server] = []
    yield started
    stopping = [threading.Thread(target=server.stop) for server in started]
    for thread in stopping:
        thread.start()
    for thread in stopping:
        thread.join(10)


@pytest.fixture
def fake_kepler(servers: list[Server]) -> Callable[..., FakeKepler]:
    def make(*nodes: str) -> FakeKepler:
        fake = FakeKepler({node: f"127.0.0.{i + 2}" for i, node in enumerate(nodes)})
        app = fake.app()
        for node in nodes:
            server = Server(app, fake.addresses[node], fake.port).start()
            fake.port = server.port
            servers.append(server)
        return fake

    return make


@pytest.fixture
def k8s() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def kube_api(k8s: Emulator) -> Iterator[Any]:
    with make_api_client(k8s.base_url) as api_client:
        yield api_client


ZONE_KEYS = ("default_zone", "region_to_zone")


def settings(raw: dict[str, Any]) -> PowerSettings:
    """PowerSettings built and checked by gridshift.config's own loader (the `power:` section);
    the zone mapping keys of `raw` belong to the `cluster:` section (see cluster_settings)."""
    problems: list[str] = []
    built = _build(PowerSettings, {k: v for k, v in raw.items() if k not in ZONE_KEYS}, "power.", problems, {})
    assert not problems, problems
    return built


def cluster_settings(raw: dict[str, Any]) -> ClusterSettings:
    problems: list[str] = []
    built = _build(ClusterSettings, {k: v for k, v in raw.items() if k in ZONE_KEYS}, "cluster.", problems, {})
    assert not problems, problems
    return built


@dataclass
class Running:
    exporter: PowerExporter
    server: Server
    clock: Clock

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def cycle(self, advance: float = 0.0) -> None:
        self.clock.now += advance
        self.exporter.refresher.run_cycle()

    def text(self) -> str:
        return requests.get(f"{self.url}/metrics", timeout=5).text

    def samples(self) -> dict[tuple[str, Labels], float]:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(self.text()) for s in family.samples}

    def series(self, name: str) -> dict[Labels, float]:
        return {labels: value for (metric, labels), value in self.samples().items() if metric == name}

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples().get((name, tuple(sorted(labels.items()))))

    def per_namespace(self, name: str, **match: str) -> dict[str, float]:
        """namespace -> value of `name` (summed over what `match` leaves open)."""
        found: dict[str, float] = {}
        for labels, value in self.series(name).items():
            label = dict(labels)
            if all(label.get(k) == v for k, v in match.items()):
                found[label["namespace"]] = found.get(label["namespace"], 0.0) + value
        return found


@pytest.fixture
def make_exporter(servers: list[Server]) -> Iterator[Callable[..., Running]]:
    running: list[Running] = []

    def make(raw: dict[str, Any], *, kube_api: Any = None, now: float = 1_764_000_000.0) -> Running:
        clock = Clock(now)
        exporter = build_power_exporter(settings(raw), kube_api_client=kube_api, cluster=cluster_settings(raw), clock=clock)
        server = Server(exporter.app, "127.0.0.1", 0).start()
        servers.append(server)
        running.append(Running(exporter, server, clock))
        return running[-1]

    yield make
    for item in running:
        item.exporter.refresher.stop()


@dataclass
class IntensityApi:
    """The grid exporter's /api/v1/intensity on a local server; `set(zone, g)` or `missing(zone)`."""

    server: HTTPServer
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def set(self, zone: str, grams_per_kwh: float, basis: str = "production", **more: float) -> None:
        values = [{"source": "entsoe", "basis": b, "timestamp": "2025-11-24T12:00:00Z", "grams_per_kwh": g,
                   "forecast": False} for b, g in [(basis, grams_per_kwh), *more.items()]]
        self.answers[zone] = (200, {"zone": zone, "values": values})

    def missing(self, zone: str, status: int = 404) -> None:
        self.answers[zone] = (status, {"error": f"unknown zone {zone!r}"})

    def handle(self, req: Any) -> Any:
        from werkzeug import Response as WerkzeugResponse
        import json

        zone = req.args.get("zone", "")
        self.asked.append(zone)
        status, body = self.answers.get(zone, (404, {"error": f"unknown zone {zone!r}"}))
        return WerkzeugResponse(json.dumps(body), status=status, content_type="application/json")


@pytest.fixture
def intensity_api(httpserver: HTTPServer) -> IntensityApi:
    api = IntensityApi(httpserver)
    httpserver.expect_request("/api/v1/intensity").respond_with_handler(api.handle)
    return api
