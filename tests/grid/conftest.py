"""A grid exporter wired to the local ENTSO-E, with a clock the test controls."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gridshift.config import Config, build_config
from gridshift.exporters.grid.app import GridExporter, build_grid_exporter
from gridshift.web import Server
from tests.conftest import TOKEN, Clock, FakeEntsoe

# The newest FI generation interval in the recording: 2025-10-24T11:45Z.
FI_NEWEST = 1761306300


@dataclass
class Running:
    exporter: GridExporter
    server: Server
    clock: Clock
    config: Config

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        import requests

        text = requests.get(f"{self.url}/metrics", timeout=5).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples().get((name, tuple(sorted(labels.items()))))

    def series(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        return {labels: value for (metric, labels), value in self.samples().items() if metric == name}


@pytest.fixture
def make_exporter(fake_entsoe: FakeEntsoe) -> Iterator[Callable[..., Running]]:
    running: list[Running] = []

    def make(*, zones=("FI",), now: float = FI_NEWEST + 1800, token: str = TOKEN,
             static: dict[str, float] | None = None, grid: dict[str, object] | None = None,
             **entsoe: object) -> Running:
        raw = {
            "grid": {
                "entsoe": {"zones": list(zones), "endpoint": fake_entsoe.url, "timeout_seconds": 2, **entsoe},
                "staleness_limit_seconds": 3 * 3600,
                "static": {"zones": static or {}},
                **(grid or {}),
            }
        }
        config = build_config(raw, env={"ENTSOE_API_KEY": token})
        clock = Clock(now)
        exporter = build_grid_exporter(config, clock=clock)
        exporter.refresher.rng = random.Random(7)
        server = Server(exporter.app, "127.0.0.1", 0).start()
        running.append(Running(exporter, server, clock, config))
        return running[-1]

    yield make
    for item in running:
        item.exporter.refresher.stop()
        item.server.stop()
