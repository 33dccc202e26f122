"""Assemble the grid exporter: sources and providers, refresher, snapshot, collector, web app."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from gridshift.config import Config
from gridshift.exporters.grid.api import create_api
from gridshift.exporters.grid.collector import GridCollector
from gridshift.exporters.grid.derive import Derivation
from gridshift.exporters.grid.entsoe_pipeline import EntsoePipeline
from gridshift.exporters.grid.factors import emission_factors
from gridshift.exporters.grid.instruments import GridInstruments
from gridshift.exporters.grid.providers import IntensityProvider, provider_jobs
from gridshift.exporters.grid.providers.build import build_providers
from gridshift.exporters.grid.refresher import Refresher
from gridshift.exporters.grid.snapshot import GridStore
from gridshift.exporters.grid.sources.entsoe import EntsoeSource
from gridshift.exporters.grid.views import series_dataset
from gridshift.secrets import Secret
from gridshift.web import create_app


@dataclass
class GridExporter:
    app: Flask
    refresher: Refresher
    store: GridStore
    registry: CollectorRegistry
    entsoe: EntsoePipeline
    providers: list[IntensityProvider]


def build_grid_exporter(config: Config, *, clock: Callable[[], float] = time.time) -> GridExporter:
    grid = config.grid
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    store = GridStore()
    # Validation guarantees a token whenever ENTSO-E zones are configured; without zones no job runs.
    entsoe = EntsoePipeline(
        source=EntsoeSource(api_key=grid.entsoe.api_key or Secret(), endpoint=grid.entsoe.endpoint,
                            timeout_seconds=grid.entsoe.timeout_seconds, clock=clock),
        settings=grid.entsoe,
    )
    providers = build_providers(grid)
    jobs = entsoe.jobs() + [job for provider in providers for job in provider_jobs(provider)]
    refresher = Refresher(
        jobs=jobs, store=store, derivation=Derivation.of(grid.entsoe, emission_factors(grid.emission_factors)),
        instruments=GridInstruments(registry), backoff=grid.backoff, max_workers=grid.max_concurrent_requests,
        clock=clock,
    )
    registry.register(GridCollector(
        store=store, staleness_limit_seconds=grid.staleness_limit_seconds, forecast=grid.forecast,
        thresholds=grid.thresholds, clock=clock,
    ))

    def readiness() -> tuple[bool, dict[str, Any]]:
        held = {f"{zone}/{source}/{dataset}" for zone, source, dataset in store.current()}
        held |= {f"{zone}/{series.source}/{series_dataset(series)}" for zone, view in store.views().items()
                 for series in view.series}
        return refresher.first_round_done, {"jobs": len(refresher.jobs), "datasets_held": sorted(held)}

    app = create_app(registry=registry, readiness=readiness, name="gridshift-exporter")
    app.register_blueprint(create_api(store=store, staleness_limit_seconds=grid.staleness_limit_seconds, clock=clock,
                                      configured_zones=frozenset(job.zone for job in jobs)))
    return GridExporter(app=app, refresher=refresher, store=store, registry=registry, entsoe=entsoe, providers=providers)
