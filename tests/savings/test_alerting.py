"""The savings simulator fires GridCarbonIntensityHigh exactly when Prometheus does.

The simulator does not run Prometheus for a year of evaluations; it walks the moments the
intensity and threshold change, with the rule's `for` and hysteresis read from rules.yaml. Here
the real `promtool test rules` evaluates the shipped rules every minute over four real days of
German intensity (hourly values, each held for 60 one-minute samples), with the absolute
threshold (the trace's median) and with the relative one (p75 of the coming 24 h by the
persistence forecast), and must find every alert the model predicts at every 5 minutes, and no
other. Also: the relative threshold equals the exporter's own computation (IntensitySeries.ahead
and the exporter's quantile) at every point of a month.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from pathlib import Path

import pytest
import yaml

from benchmarks.savings import alerting
from benchmarks.savings.grid import DAY, HOUR, Grid
from gridshift.exporters.grid.forecast import quantile
from gridshift.exporters.grid.traces import Trace
from tests.test_rules import RULES, tool

FIRST, HOURS = 24 * 4, 96  # 2022-06-05 00:00 UTC, four days: many crossings each way
EVAL_STEP = 300


@pytest.fixture(scope="module")
def month(recorded_data: Path) -> Grid:
    return Grid.load(recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv")


def window(month: Grid, first: int, hours: int) -> Grid:
    """`hours` points of the month from `first`, moved to start at 0 as promtool's series do."""
    points = tuple((i * 3600, month.values[first + i]) for i in range(hours))
    return Grid(zone="DE", trace=Trace(path="slice", source_format="test", zone="DE", resolution_seconds=3600, points=points))


def summary_template() -> str:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == alerting.ALERT_NAME)
    return rule["annotations"]["summary"], rule["annotations"]["description"]


def expected_alerts(grid: Grid, episodes: list[alerting.Episode], moment: int) -> list[dict]:
    summary, description = summary_template()
    for episode in episodes:
        if episode.firing_at <= moment < episode.resolved_at:
            value = grid.value(moment)
            text = summary.replace("{{ $labels.zone }}", "DE")
            text = re.sub(r"\{\{ \$value \| printf \"%\.0f\" \}\}", f"{value:.0f}", text)
            return [{"exp_labels": {"zone": "DE", "level": "high", "severity": "warning"},
                     "exp_annotations": {"summary": text, "description": description.replace("{{ $labels.zone }}", "DE")}}]
    return []


def series(values: list[float]) -> str:
    return " ".join(f"{value}+0x59" for value in values)


@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_prometheus_fires_when_the_model_says(month: Grid, tmp_path: Path, kind: str):
    rule = alerting.RuleParameters.from_rules()
    grid = window(month, FIRST, HOURS)
    if kind == "absolute":
        limit = statistics.median(month.values)
        thresholds = [limit] * HOURS
        threshold, moments = alerting.absolute(limit), []
    else:  # the forecast is the day before, so the window's thresholds come from the month
        context = window(month, FIRST - 24, HOURS + 48)
        relative = alerting.Relative(context.series(shift_seconds=int(DAY)), 0.75)
        thresholds = [relative(24 * HOUR + i * HOUR) for i in range(HOURS)]
        shifted = {i * 3600: value for i, value in enumerate(thresholds)}
        threshold, moments = (lambda t: shifted.get(int(t // 3600) * 3600)), []
    episodes = alerting.episodes(grid, threshold, rule, extra_moments=moments)
    assert len(episodes) >= 3, "the four days are chosen for several episodes"
    checks = [{"eval_time": f"{t}s", "alertname": alerting.ALERT_NAME, "exp_alerts": expected_alerts(grid, episodes, t)}
              for t in range(0, HOURS * 3600 - EVAL_STEP, EVAL_STEP)]
    assert sum(1 for c in checks if c["exp_alerts"]) > 50 and sum(1 for c in checks if not c["exp_alerts"]) > 50
    test = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": 'gridshift_carbon_intensity_grams_per_kwh{zone="DE",source="replay",basis="provider"}',
             "values": series(grid.values)},
            {"series": 'gridshift_carbon_intensity_threshold_grams_per_kwh{zone="DE",level="high"}',
             "values": series(thresholds)},
        ],
        "alert_rule_test": checks,
    }]}
    path = tmp_path / "model_test.yaml"
    path.write_text(yaml.safe_dump(test))
    result = subprocess.run([tool("promtool"), "test", "rules", str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_relative_threshold_is_the_exporters_computation(month: Grid):
    forecast = month.series(shift_seconds=int(DAY))
    relative = alerting.Relative(forecast, 0.75)
    for moment in range(month.start + 2 * 86400, month.start + 28 * 86400, 1800):
        ahead = [p.grams_per_kwh for p in forecast.ahead(moment, DAY)]
        assert relative(moment) == (quantile(ahead, 0.75) if len(ahead) >= 2 else None)


def test_rule_parameters_come_from_the_shipped_rules():
    rule = alerting.RuleParameters.from_rules()
    assert (rule.for_seconds, rule.hysteresis) == (600.0, 0.95)


def test_a_rule_without_hysteresis_is_refused(tmp_path: Path):
    text = RULES.read_text().replace("(0.95 * gridshift_carbon_intensity_threshold_grams_per_kwh{level=\"high\"})", "1")
    (tmp_path / "rules.yaml").write_text(text)
    with pytest.raises(ValueError, match="hysteresis"):
        alerting.RuleParameters.from_rules(tmp_path / "rules.yaml")
