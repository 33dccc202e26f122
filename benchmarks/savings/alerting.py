"""When GridCarbonIntensityHigh fires over a trace, by the shipped rules' own parameters.

The rule (alertmanager/rules.yaml) is: intensity above the zone's high threshold, or above
`factor` x threshold while already firing (hysteresis), for `for:` before firing. Prometheus
evaluates it every minute; the simulator walks the moments where the exported intensity or the
threshold can change (both are step functions), which gives the same firing times without a
year of one-minute evaluations. The two parameters are read from rules.yaml, so the rule stays
the one source; tests/benchmarks/test_savings.py runs `promtool test rules` with the real rule
on a stretch of a real trace and checks that Prometheus fires exactly when this model says.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from gridshift import names
from gridshift.actions.alerts import Alert
from gridshift.durations import parse_duration
from gridshift.exporters.grid.forecast import quantile
from gridshift.exporters.grid.records import IntensitySeries

from gridshift.actions.planner import Slot

from benchmarks.savings.forecasts import Source
from benchmarks.savings.grid import DAY, HOUR, Grid

RULES = Path(__file__).resolve().parents[2] / "alertmanager" / "rules.yaml"
ALERT_NAME = "GridCarbonIntensityHigh"


@dataclass(frozen=True)
class RuleParameters:
    for_seconds: float
    hysteresis: float  # once firing, holds while intensity > hysteresis x threshold

    @classmethod
    def from_rules(cls, path: Path = RULES, alert: str = ALERT_NAME) -> RuleParameters:
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        rule = next(r for g in groups for r in g["rules"] if r.get("alert") == alert)
        factor = re.search(r"\(\s*([0-9.]+)\s*\*\s*" + names.CARBON_INTENSITY_THRESHOLD + r"\{level=\"high\"\}\s*\)", rule["expr"])
        if factor is None:
            raise ValueError(f"{path}: {alert}'s expression has no `(factor * threshold)` hysteresis term")
        for_seconds = parse_duration(rule["for"]) if rule.get("for") else 0.0
        return cls(for_seconds=for_seconds, hysteresis=float(factor.group(1)))


@dataclass(frozen=True)
class WindowRule:
    """GridCarbonGreenerWindowAhead: now above `factor` x the greenest 1 h of the coming 24 h."""

    for_seconds: float
    factor: float

    @classmethod
    def from_rules(cls, path: Path = RULES) -> WindowRule:
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        rule = next(r for g in groups for r in g["rules"] if r.get("alert") == names.ALERT_WINDOW)
        factor = re.search(r"\(\s*([0-9.]+)\s*\*\s*min by \(zone\) \(" + names.CARBON_INTENSITY_BEST_WINDOW_MEAN, rule["expr"])
        if factor is None:
            raise ValueError(f"{path}: {names.ALERT_WINDOW}'s expression has no `(factor * min by (zone) (best window))` term")
        return cls(for_seconds=parse_duration(rule["for"]) if rule.get("for") else 0.0, factor=float(factor.group(1)))

    @property
    def parameters(self) -> RuleParameters:
        return RuleParameters(for_seconds=self.for_seconds, hysteresis=1.0)


@dataclass(frozen=True)
class Episode:
    active_at: float  # pending from (Prometheus' activeAt, Alertmanager's startsAt)
    firing_at: float
    resolved_at: float
    level: str = "high"

    def alert(self, zone: str) -> Alert:
        name = names.ALERT_WINDOW if self.level == "window" else ALERT_NAME
        severity = "none" if self.level == "window" else "warning"
        labels = {"alertname": name, "zone": zone, "level": self.level, "severity": severity}
        return Alert(fingerprint=f"{zone}-{self.level}", firing=True, name=name, zone=zone, level=self.level,
                     starts_at=self.active_at, ends_at=None, labels=labels)


Threshold = Callable[[float], "float | None"]


def absolute(grams_per_kwh: float) -> Threshold:
    return lambda _moment: grams_per_kwh


class Relative:
    """The exporter's relative threshold: the `q` quantile of the forecast's coming window
    (exporters/grid/collector.py `_add_window`: points that end after now and start before
    now + window, the exporter's own `quantile`)."""

    def __init__(self, forecast: IntensitySeries, q: float, window_seconds: float = DAY) -> None:
        self.forecast, self.q, self.window = forecast, q, window_seconds
        self._starts = [p.start for p in forecast.points]
        self._ends = [forecast.end(p) for p in forecast.points]
        self._values = [p.grams_per_kwh for p in forecast.points]

    def __call__(self, moment: float) -> float | None:
        first = bisect.bisect_right(self._ends, moment)  # ends are sorted: points are sorted and disjoint
        last = bisect.bisect_left(self._starts, moment + self.window)
        values = self._values[first:last]
        return quantile(values, self.q) if len(values) >= 2 else None

    def changes(self) -> list[float]:
        """Moments the coming window gains or loses a point."""
        return sorted({*self._ends, *(start - self.window for start in self._starts)})


class ForecastThreshold:
    """A threshold read off the forecast in effect at each moment (what the exporter exports from
    it): `factor` x the greenest 1 h window of the coming 24 h (the window rule), or the `q`
    quantile of the coming 24 h (a relative High)."""

    def __init__(self, source: Source, zone: str, *, factor: float = 1.0, q: float | None = None,
                 window_seconds: float = DAY) -> None:
        self.source, self.zone, self.factor, self.q, self.window = source, zone, factor, q, window_seconds

    def __call__(self, moment: float) -> float | None:
        forecast = self.source.forecast(self.zone, moment, self.window)
        if forecast is None:
            return None
        ahead = [slot for slot in forecast.slots if slot.end > moment and slot.start < moment + self.window]
        if len(ahead) < 2:
            return None
        if self.q is not None:
            return quantile([slot.grams_per_kwh for slot in ahead], self.q)
        return self.factor * min(_hour_mean(ahead, i) for i in range(len(ahead)))


def _hour_mean(slots: Sequence[Slot], first: int) -> float:
    """The mean of the hour from slot `first` on (what is left of it, at the window's end)."""
    begin, total, covered = slots[first].start, 0.0, 0.0
    for slot in slots[first:]:
        length = min(slot.end, begin + HOUR) - slot.start
        if length <= 0:
            break
        total, covered = total + slot.grams_per_kwh * length, covered + length
    return total / covered if covered else slots[first].grams_per_kwh


def episodes(grid: Grid, threshold: Threshold, rule: RuleParameters, *,
             extra_moments: Sequence[float] = (), level: str = "high") -> list[Episode]:
    """Every firing episode of the high alert over the trace."""
    moments = sorted({*grid.boundaries(), *(m for m in extra_moments if grid.start <= m <= grid.end)})
    found: list[Episode] = []
    pending_since: float | None = None
    firing: tuple[float, float] | None = None  # (active_at, firing_at)
    for begin, end in zip(moments, moments[1:]):
        value, limit = grid.exported(begin), threshold(begin)
        above = value is not None and limit is not None and value > limit
        held = value is not None and limit is not None and value > rule.hysteresis * limit
        if firing is not None:
            if held:
                continue
            found.append(Episode(firing[0], firing[1], begin, level))
            firing = None
        if not above:
            pending_since = None
            continue
        pending_since = begin if pending_since is None else pending_since
        if pending_since + rule.for_seconds < end:
            firing, pending_since = (pending_since, max(begin, pending_since + rule.for_seconds)), None
    if firing is not None:
        found.append(Episode(firing[0], firing[1], moments[-1], level))
    return found
