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

from benchmarks.savings.grid import DAY, Grid

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
class Episode:
    active_at: float  # pending from (Prometheus' activeAt, Alertmanager's startsAt)
    firing_at: float
    resolved_at: float

    def alert(self, zone: str) -> Alert:
        labels = {"alertname": ALERT_NAME, "zone": zone, "level": "high", "severity": "warning"}
        return Alert(fingerprint=f"{zone}-high", firing=True, name=ALERT_NAME, zone=zone, level="high",
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


def episodes(grid: Grid, threshold: Threshold, rule: RuleParameters, *,
             extra_moments: Sequence[float] = ()) -> list[Episode]:
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
            found.append(Episode(firing[0], firing[1], begin))
            firing = None
        if not above:
            pending_since = None
            continue
        pending_since = begin if pending_since is None else pending_since
        if pending_since + rule.for_seconds < end:
            firing, pending_since = (pending_since, max(begin, pending_since + rule.for_seconds)), None
    if firing is not None:
        found.append(Episode(firing[0], firing[1], moments[-1]))
    return found
