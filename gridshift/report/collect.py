"""What the report measures: every series it needs, read from Prometheus, on the range's grid,
and the figures derived from them (totals, means, time held). The arithmetic is in series.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gridshift.exporters.power.accumulate import JOULES_PER_KWH
from gridshift.report import queries
from gridshift.report.prometheus import Asked, Prometheus, read_decisions
from gridshift.report.series import (Grid, Series, counter_rises, integral, mean, on_grid, summed,
                                     time_above_zero)
from gridshift.report.timerange import TimeRange


class NoData(Exception):
    """Nothing about the namespace in the range: no energy, no action, no held workload."""


@dataclass(frozen=True)
class Figures:
    energy_joules: float
    emissions_grams: float
    mean_power_watts: float | None
    effective_intensity: float | None  # emissions / energy, g/kWh
    actions: dict[str, int]  # "action result" -> count
    held_workload_seconds: float
    held_seconds: float  # time with at least one workload held
    avoided_grams: float


@dataclass
class ReportData:
    namespace: str
    span: TimeRange
    prometheus_url: str
    power: Grid  # W
    energy: list[float]  # J added at each point
    emissions: list[float]  # g added at each point
    zones: tuple[str, ...]
    intensity: dict[str, Grid]  # zone -> g/kWh
    thresholds: dict[tuple[str, str], Grid]  # (zone, level) -> g/kWh
    sources: list[dict[str, str]]  # zone, source, basis of the intensity series seen
    actions: dict[str, list[float]]  # "action result" -> actions at each point
    held: dict[str, Grid]  # action -> held workloads
    avoided: Grid  # g/s
    asked: list[Asked]
    decisions: list[dict[str, Any]] | None = None  # None: not asked (no --actions-url)
    generated_at: float = field(default_factory=time.time)

    @property
    def figures(self) -> Figures:
        energy = sum(self.energy)
        emissions = sum(self.emissions)
        held_total = summed(self.held.values(), self.span.points)
        return Figures(
            energy_joules=energy, emissions_grams=emissions, mean_power_watts=mean(self.power),
            effective_intensity=emissions / (energy / JOULES_PER_KWH) if energy > 0 else None,
            actions={key: round(sum(rises)) for key, rises in sorted(self.actions.items())},
            held_workload_seconds=integral(held_total, self.span.step),
            held_seconds=time_above_zero(held_total, self.span.step),
            avoided_grams=integral(self.avoided, self.span.step),
        )


def collect(prometheus: Prometheus, *, namespace: str, span: TimeRange, actions_url: str | None = None) -> ReportData:
    ask = _Asker(prometheus, namespace, span)
    energy_series = ask.range(queries.ENERGY)
    action_series = ask.range(queries.ACTIONS)
    held_series = ask.range(queries.HELD)
    if not (energy_series or action_series or held_series):
        raise NoData(_no_data_message(prometheus, namespace, span))
    zones = tuple(sorted({s.labels.get("zone", "") for s in energy_series} - {""}))
    data = ReportData(
        namespace=namespace, span=span, prometheus_url=prometheus.url,
        power=_zero_where_counted(ask.gauge(queries.POWER), energy_series, span),
        energy=counter_rises(energy_series, span).get("", [0.0] * span.points),
        emissions=counter_rises(ask.range(queries.EMISSIONS), span).get("", [0.0] * span.points),
        zones=zones,
        intensity=ask.grids(queries.INTENSITY, ("zone",)),
        thresholds=ask.grids(queries.THRESHOLDS, ("zone", "level"), zones) if zones else {},
        sources=[dict(s.labels) for s in ask.instant(queries.INTENSITY_SOURCES, zones)] if zones else [],
        actions=counter_rises(action_series, span, key=lambda labels: f"{labels.get('action')} {labels.get('result')}"),
        # The service exports a held count only while something is held: absent is none held.
        held={s.labels.get("action", ""): [v or 0.0 for v in on_grid(s, span)] for s in held_series},
        avoided=ask.gauge(queries.AVOIDED),
        asked=prometheus.asked,
    )
    if actions_url:
        data.decisions = read_decisions(actions_url, namespace=namespace, span=span)
    return data


@dataclass
class _Asker:
    prometheus: Prometheus
    namespace: str
    span: TimeRange

    def range(self, template: str, zones: tuple[str, ...] = ()) -> list[Series]:
        return self.prometheus.range(self._expr(template, zones), self.span)

    def instant(self, template: str, zones: tuple[str, ...]) -> list[Series]:
        return self.prometheus.instant(self._expr(template, zones), self.span.end)

    def gauge(self, template: str) -> Grid:
        return summed((on_grid(s, self.span) for s in self.range(template)), self.span.points)

    def grids(self, template: str, by: tuple[str, ...], zones: tuple[str, ...] = ()) -> dict[Any, Grid]:
        found = {}
        for series in self.range(template, zones):
            key = tuple(series.labels.get(label, "") for label in by)
            found[key[0] if len(by) == 1 else key] = on_grid(series, self.span)
        return found

    def _expr(self, template: str, zones: tuple[str, ...]) -> str:
        return queries.render(template, namespace=self.namespace, zones=zones, window=f"{self.span.seconds:.0f}s")


def _zero_where_counted(power: Grid, energy: list[Series], span: TimeRange) -> Grid:
    """0 W where the namespace has no power series but its energy is counted: no container of it ran
    (all paused, say); a namespace has a power series only while it has containers."""
    counted = summed((on_grid(s, span) for s in energy), span.points)
    return [0.0 if watts is None and known is not None else watts for watts, known in zip(power, counted)]


def _no_data_message(prometheus: Prometheus, namespace: str, span: TimeRange) -> str:
    known = sorted({s.labels.get("namespace", "") for s in prometheus.range(queries.KNOWN_NAMESPACES, span)} - {""})
    listed = ", ".join(known[:30]) + (" ..." if len(known) > 30 else "") if known else "none"
    return (f"no data about namespace {namespace!r} in Prometheus at {prometheus.url} in the range: no energy "
            f"(gridshift_namespace_energy_joules_total), no action, no held workload. Namespaces with data: {listed}")
