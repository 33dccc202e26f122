"""Assemble the namespace power exporter: inventory, scraper or estimator, refresher, snapshot,
collector, web app. `kube_api_client` is a kubernetes.client.ApiClient, or None to run from
static targets with every node in the default zone (see discover.load_api_client)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from gridshift.exporters.power.collector import PowerCollector
from gridshift.exporters.power.discover import KubeInventory
from gridshift.exporters.power.estimator import CpuPowerModel, Estimator
from gridshift.exporters.power.instruments import PowerInstruments
from gridshift.exporters.power.intensity import IntensityClient
from gridshift.exporters.power.records import CURRENT, PowerStore
from gridshift.exporters.power.refresher import PowerRefresher
from gridshift.exporters.power.scrape import KeplerScraper
from gridshift.power_settings import PowerSettings
from gridshift.zone_settings import ClusterSettings
from gridshift.snapshot import SnapshotStore
from gridshift.web import create_app


@dataclass
class PowerExporter:
    app: Flask
    refresher: PowerRefresher
    store: PowerStore
    registry: CollectorRegistry


def build_power_exporter(settings: PowerSettings, *, kube_api_client: Any | None, cluster: ClusterSettings | None = None,
                         clock: Callable[[], float] = time.time) -> PowerExporter:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    store: PowerStore = SnapshotStore()
    inventory = None if kube_api_client is None else KubeInventory(
        kube_api_client, timeout_seconds=settings.scrape_timeout_seconds)
    intensity = None if not settings.intensity.url else IntensityClient(
        url=settings.intensity.url, timeout_seconds=settings.intensity.timeout_seconds)
    estimator = scraper = None
    if settings.estimator.enabled:
        estimator = Estimator(model=CpuPowerModel(min_watts_per_vcpu=settings.estimator.min_watts_per_vcpu,
                                                  max_watts_per_vcpu=settings.estimator.max_watts_per_vcpu))
    else:
        scraper = KeplerScraper(timeout_seconds=settings.scrape_timeout_seconds,
                                max_workers=settings.max_concurrent_scrapes, clock=clock)
    refresher = PowerRefresher(
        settings=settings, cluster=cluster or ClusterSettings(), store=store, instruments=PowerInstruments(registry),
        inventory=inventory,
        intensity=intensity, scraper=scraper, estimator=estimator, estimator_node=estimator_node_name(settings),
        clock=clock,
    )
    registry.register(PowerCollector(store=store))

    def readiness() -> tuple[bool, dict[str, Any]]:
        snapshot = store.current().get(CURRENT)
        nodes = snapshot.nodes.values() if snapshot is not None else ()
        return refresher.first_cycle_done, {
            "mode": "estimator" if estimator is not None else "kepler",
            "targets": len(refresher.targets),
            "nodes_up": sorted(n.node for n in nodes if n.scrape_up),
            "nodes_down": sorted(n.node for n in nodes if n.scrape_up is False),
        }

    app = create_app(registry=registry, readiness=readiness, name="gridshift-power-exporter",
                     serve_metrics=not settings.metrics_port)
    return PowerExporter(app=app, refresher=refresher, store=store, registry=registry)


def estimator_node_name(settings: PowerSettings) -> str:
    """The configured node name, else $NODE_NAME (downward API), else the host name."""
    return settings.estimator.node_name or os.environ.get("NODE_NAME", "") or socket.gethostname()
