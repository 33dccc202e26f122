"""Assemble the grid exporter: sources and providers, refresher, snapshot, collector, web app,
and the forecaster with the history it reads (the ENTSO-E backfill, live observations, a replay's past)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from gridshift.config import Config, GridSettings
from gridshift.exporters.grid.api import create_api
from gridshift.exporters.grid.backfill import HistoryStore
from gridshift.exporters.grid.collector import GridCollector
from gridshift.exporters.grid.derive import Derivation
from gridshift.exporters.grid.entsoe_pipeline import EntsoePipeline
from gridshift.exporters.grid.factors import emission_factors
from gridshift.exporters.grid.forecasting.model import Fuel, History
from gridshift.exporters.grid.history import BackfillRunner, HistoryBook, entsoe_day_fetcher
from gridshift.exporters.grid.instruments import GridInstruments
from gridshift.exporters.grid.pacing import RequestPacer
from gridshift.exporters.grid.providers import IntensityProvider, provider_jobs
from gridshift.exporters.grid.providers.build import build_providers
from gridshift.exporters.grid.providers.replay import ReplayProvider
from gridshift.exporters.grid.refresher import Refresher
from gridshift.exporters.grid.snapshot import GridStore
from gridshift.exporters.grid.sources.entsoe import EntsoeSource
from gridshift.exporters.grid.views import FORECASTER, series_dataset
from gridshift.exporters.grid.zone_forecasts import ZoneForecaster
from gridshift.secrets import Secret
from gridshift.web import ExpositionCache, create_app


@dataclass
class GridExporter:
    app: Flask
    refresher: Refresher
    store: GridStore
    registry: CollectorRegistry
    entsoe: EntsoePipeline
    providers: list[IntensityProvider]
    forecaster: ZoneForecaster
    history: HistoryBook
    backfill: BackfillRunner
    exposition: ExpositionCache

    @property
    def loop(self) -> ExporterLoop:
        """What runs beside the HTTP server: the refresher, the backfill and the exposition's renders."""
        return ExporterLoop(self.refresher, self.backfill, self.exposition)


@dataclass(frozen=True)
class ExporterLoop:
    refresher: Refresher
    backfill: BackfillRunner
    exposition: ExpositionCache

    def start(self) -> None:
        self.refresher.start()
        self.backfill.start()
        self.exposition.start()

    def stop(self) -> None:
        self.exposition.stop()
        self.backfill.stop()
        self.refresher.stop()


def build_grid_exporter(config: Config, *, clock: Callable[[], float] = time.time,
                        sleep: Callable[[float], None] = time.sleep,
                        entsoe_pacer: RequestPacer | None = None) -> GridExporter:
    """`clock` and `sleep` are the exporter's time (a test or a benchmark runs it faster);
    `entsoe_pacer` replaces the one built from grid.entsoe.requests_per_minute (a benchmark of
    the exporter's own cost against a loopback ENTSO-E that has no limit)."""
    grid = config.grid
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    store = GridStore()
    # One limiter for every ENTSO-E request (one token): refresh, flows, backfill; a ban seen by one stops all.
    if entsoe_pacer is None:
        entsoe_pacer = RequestPacer(grid.entsoe.requests_per_minute, clock=clock, sleep=sleep)
    # Validation guarantees a token whenever ENTSO-E zones are configured; without zones no job runs.
    entsoe = EntsoePipeline(
        source=EntsoeSource(api_key=grid.entsoe.api_key or Secret(), endpoint=grid.entsoe.endpoint,
                            timeout_seconds=grid.entsoe.timeout_seconds, clock=clock, pacer=entsoe_pacer),
        settings=grid.entsoe,
    )
    providers = build_providers(grid)
    factors = emission_factors(grid.emission_factors)
    settings = grid.forecaster
    history_store = HistoryStore(Path(settings.history_folder) if settings.history_folder else None)
    backfill = BackfillRunner(zones=grid.entsoe.zones if settings.enabled else (), store=history_store,
                              fetch=entsoe_day_fetcher(entsoe.source, factors), days=settings.history_days,
                              pacer=entsoe_pacer.share(settings.requests_per_minute), clock=clock)
    replay = next((p for p in providers if isinstance(p, ReplayProvider)), None)
    history = HistoryBook(history_store, recent=backfill.recent, replay=replay, inputs=store.current,
                          max_days=settings.history_days)
    forecaster = ZoneForecaster(history=ObservingHistory(history, store))
    jobs = entsoe.jobs() + [job for provider in providers for job in provider_jobs(provider)]
    jobs += forecaster.jobs(forecast_zones(grid), issue_seconds=settings.issue_seconds)
    refresher = Refresher(
        jobs=jobs, store=store, derivation=Derivation.of(grid.entsoe, factors),
        instruments=GridInstruments(registry), backoff=grid.backoff, max_workers=grid.max_concurrent_requests,
        clock=clock,
    )
    registry.register(GridCollector(
        store=store, staleness_limit_seconds=grid.staleness_limit_seconds, forecast=grid.forecast,
        thresholds=grid.thresholds, clock=clock, backfill=lambda: backfill.status if backfill.zones else None,
    ))

    def readiness() -> tuple[bool, dict[str, Any]]:
        held = {f"{zone}/{source}/{dataset}" for zone, source, dataset in store.current()}
        held |= {f"{zone}/{series.source}/{series_dataset(series)}" for zone, view in store.views().items()
                 for series in view.series}
        status = backfill.status
        return refresher.first_round_done, {"jobs": len(refresher.jobs), "datasets_held": sorted(held), "backfill": {
            "planned": status.planned, "done": status.done, "failed": status.failed, "pending": status.pending,
            "running": status.running}}

    # Rendered once a refresh (the views are swapped whole), not once a scrape: 43 zones take ~12 ms.
    exposition = ExpositionCache(registry, version=store.views, max_age_seconds=exposition_max_age(grid), clock=clock)
    app = create_app(registry=registry, readiness=readiness, name="gridshift-exporter", exposition=exposition,
                     serve_metrics=not config.exporter.metrics_port)
    app.register_blueprint(create_api(store=store, staleness_limit_seconds=grid.staleness_limit_seconds, clock=clock,
                                      configured_zones=frozenset(job.zone for job in jobs)))
    return GridExporter(app=app, refresher=refresher, store=store, registry=registry, entsoe=entsoe, providers=providers,
                        forecaster=forecaster, history=history, backfill=backfill, exposition=exposition)


EXPOSITION_MAX_AGE_SECONDS = 15.0  # a scrape interval: staleness and process metrics lag at most this


def exposition_max_age(grid: GridSettings) -> float:
    """How old the rendered exposition may get. A replay's values move with the clock between
    refreshes (one trace hour every 3600/speed s): render four times a trace hour at least."""
    per_trace_hour = [3600.0 / zone.speed / 4 for zone in grid.replay.zones.values()]
    return min([EXPOSITION_MAX_AGE_SECONDS, *per_trace_hour])


def forecast_zones(grid: GridSettings) -> list[str]:
    """Every zone with a history to learn from: all but static ones (a constant needs no forecast)."""
    if not grid.forecaster.enabled:
        return []
    zones = [*grid.entsoe.zones, *grid.ukgrid.zones, *grid.electricitymaps.zones, *grid.replay.zones]
    return list(dict.fromkeys(zones))


class ObservingHistory:
    """The HistoryBook as the forecaster reads it, fed first with the zone's newest actual points: the
    forecast job is what observes, so the refresher needs no callback."""

    def __init__(self, book: HistoryBook, store: GridStore) -> None:
        self.book, self.store = book, store

    def history(self, zone: str, now: float) -> History:
        view = self.store.views().get(zone)
        actual = next((s for s in view.series if s.basis != "consumption" and s.source != FORECASTER), None) if view else None
        if actual is not None:
            self.book.observe(zone, actual.points, now=now)
        return self.book.history(zone, now)

    def fuel(self, zone: str, now: float) -> Fuel | None:
        return self.book.fuel(zone, now)
