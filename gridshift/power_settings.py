"""Settings of the namespace power exporter: the `power:` section of the configuration file.

Built by gridshift.config like every other section (nested frozen dataclasses; each class's
`check(path)` names every problem with its key path, e.g.
`power.scrape_timeout_seconds: must be greater than 0, got -1.0`). Each `check` covers its own
fields; the loader calls it for every nested section. See docs/power.md.

This module imports nothing from gridshift.config (which imports it); the checks it shares
with config are in gridshift.checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gridshift.checks import http_url, metrics_port, not_empty, port_number, positive


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class KeplerSettings:
    """Where Kepler runs: the endpoints of a Service (port by name), or a static node -> URL table."""

    namespace: str = "kepler"
    service: str = "kepler"
    # Matched by name: Kepler's port is 9102 up to 0.9 and 28282 from 0.10, named `http` in both.
    port_name: str = "http"
    scheme: str = "http"
    path: str = "/metrics"
    # Node name -> metrics URL. When set, these are scraped and the Service is not looked up.
    static_targets: Mapping[str, str] = field(default_factory=_empty)
    discovery_interval_seconds: float = 60.0

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "discovery_interval_seconds")
        problems += not_empty(self, path, "namespace", "service", "port_name")
        if self.scheme not in ("http", "https"):
            problems.append(f"{path}.scheme: must be http or https, got {self.scheme!r}")
        if not self.path.startswith("/"):
            problems.append(f"{path}.path: must start with '/', got {self.path!r}")
        for node, url in self.static_targets.items():
            problems += http_url(url, f"{path}.static_targets.{node}")
        return problems


@dataclass(frozen=True)
class IntensitySettings:
    """The grid exporter's JSON API, read for the current intensity of each node's zone."""

    # Base URL of `gridshift exporter`, e.g. http://gridshift-exporter:9500. Empty: no emissions.
    url: str = ""
    refresh_seconds: float = 300.0
    timeout_seconds: float = 5.0
    # An intensity not refreshed for this long is no longer used: energy then counts as unattributed.
    max_age_seconds: float = 1800.0

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "refresh_seconds", "timeout_seconds", "max_age_seconds")
        if self.url:
            problems += http_url(self.url, f"{path}.url")
        if not problems and self.max_age_seconds < self.refresh_seconds:
            problems.append(f"{path}.max_age_seconds: must be >= refresh_seconds ({self.refresh_seconds})")
        return problems


@dataclass(frozen=True)
class EstimatorSettings:
    """Without Kepler: CPU time per pod through a linear watts-per-vCPU model (docs/power.md).

    Defaults: Cloud Carbon Footprint's AWS averages (0.74 W idle, 3.5 W busy per vCPU).
    """

    enabled: bool = False
    # The node this DaemonSet pod runs on; empty: $NODE_NAME (downward API), else the host name.
    node_name: str = ""
    min_watts_per_vcpu: float = 0.74
    max_watts_per_vcpu: float = 3.5

    def check(self, path: str) -> list[str]:
        if self.min_watts_per_vcpu < 0:
            return [f"{path}.min_watts_per_vcpu: must be >= 0, got {self.min_watts_per_vcpu}"]
        if self.max_watts_per_vcpu <= self.min_watts_per_vcpu:
            return [f"{path}.max_watts_per_vcpu: must be greater than min_watts_per_vcpu "
                    f"({self.min_watts_per_vcpu}), got {self.max_watts_per_vcpu}"]
        return []


@dataclass(frozen=True)
class PowerSettings:
    listen_address: str = "0.0.0.0"
    port: int = 9501
    metrics_port: int = 0  # set: /metrics is served there alone, not on `port`
    scrape_interval_seconds: float = 30.0
    scrape_timeout_seconds: float = 10.0
    max_concurrent_scrapes: int = 8
    # Node labels (zone mapping) are listed again this often.
    node_refresh_seconds: float = 300.0
    # A container, namespace or node not seen for this long is dropped from memory and /metrics.
    forget_after_seconds: float = 3600.0
    kepler: KeplerSettings = field(default_factory=KeplerSettings)
    intensity: IntensitySettings = field(default_factory=IntensitySettings)
    estimator: EstimatorSettings = field(default_factory=EstimatorSettings)

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "scrape_interval_seconds", "scrape_timeout_seconds", "max_concurrent_scrapes",
                            "node_refresh_seconds", "forget_after_seconds")
        if not problems and self.scrape_timeout_seconds > self.scrape_interval_seconds:
            problems.append(f"{path}.scrape_timeout_seconds: must be <= scrape_interval_seconds "
                            f"({self.scrape_interval_seconds}), got {self.scrape_timeout_seconds}")
        if not problems and self.forget_after_seconds < 2 * self.scrape_interval_seconds:
            problems.append(f"{path}.forget_after_seconds: must be at least twice scrape_interval_seconds, "
                            f"got {self.forget_after_seconds}")
        return problems + port_number(self.port, f"{path}.port") + metrics_port(self.metrics_port, self.port, path)
