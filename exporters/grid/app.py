"""Assemble the grid exporter: source, refresher, snapshot, collector, web app."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from gridshift.config import Config
from gridshift.secrets import Secret
from gridshift.exporters.grid.collector import GridCollector
from gridshift.exporters.grid.instruments import GridInstruments
from gridshift.exporters.grid.datasets import GridSnapshot
from gridshift.exporters.grid.refresher import Refresher
from gridshift.exporters.grid.sources.entsoe import EntsoeSource
from gridshift.snapshot import SnapshotStore
from gridshift.web import create_app


@dataclass
class GridExporter:
    app: Flask
    refresher: Refresher
    store: GridSnapshot
    registry: CollectorRegistry


def build_grid_exporter(config: Config, *, clock: Callable[[], float] = time.time) -> GridExporter:
    settings = config.grid.entsoe
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    store: GridSnapshot = SnapshotStore()
    # Validation guarantees a token whenever zones are configured; without zones no job runs.
    source = EntsoeSource(
        api_key=settings.api_key or Secret(), endpoint=settings.endpoint, timeout_seconds=settings.timeout_seconds,
    )
    refresher = Refresher(
        source=source, settings=settings, store=store, instruments=GridInstruments(registry), clock=clock,
    )
    registry.register(GridCollector(
        store=store, source=EntsoeSource.name,
        staleness_limit_seconds=config.grid.staleness_limit_seconds, clock=clock,
    ))

    def readiness() -> tuple[bool, dict[str, Any]]:
        held = sorted({f"{zone}/{dataset}" for zone, dataset in store.current()})
        return refresher.first_round_done, {"zones": list(settings.zones), "datasets_held": held}

    app = create_app(registry=registry, readiness=readiness, name="gridshift-exporter")
    return GridExporter(app=app, refresher=refresher, store=store, registry=registry)
