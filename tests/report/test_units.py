"""The report's pure parts: time ranges, counter arithmetic, units, and the queries it shares with
the project dashboard."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gridshift.report import queries
from gridshift.report.series import Series, counter_rises, integral, time_above_zero
from gridshift.report.timerange import MAX_POINTS, RangeError, TimeRange, parse_time, resolve
from gridshift.report.units import ENERGY, MASS, human

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc).timestamp()
PROJECT = Path(__file__).resolve().parents[2] / "grafana" / "gridshift-project.json"


@pytest.mark.parametrize(("text", "seconds_ago"), [
    ("now", 0), ("now-24h", 86400), ("7d", 7 * 86400), ("now-1h30m", 5400), ("90m", 5400),
    ("2025-06-02T11:00:00Z", 3600), ("2025-06-02T13:00:00+02:00", 3600), ("2025-06-02T11:00:00.5Z", 3599.5),
])
def test_times_as_people_write_them(text, seconds_ago):
    assert parse_time(text, now=NOW) == NOW - seconds_ago


@pytest.mark.parametrize(("start", "end", "step", "says"), [
    ("now", "now-1h", None, "must be before"),
    ("now-1h", "now-1h", None, "must be before"),
    ("yesterday", "now", None, "not a time"),
    ("2025-06-02T11:00:00", "now", None, "no UTC offset"),
    ("now-0h", "now", None, "positive"),
    ("now-1h", "now", "2h", "longer than the range"),
    ("now-30d", "now", "1s", f"more than {MAX_POINTS} points"),
    ("now-1h", "now", "soon", "not a duration"),
])
def test_a_bad_range_is_refused_with_the_reason(start, end, step, says):
    with pytest.raises(RangeError, match=says):
        resolve(start, end, step=step, now=NOW)


def test_the_range_is_trimmed_to_whole_steps_and_the_default_step_is_a_300th():
    assert resolve("now-24h", "now", step=None, now=NOW) == TimeRange(NOW - 86400, NOW, 288)
    span = resolve("now-100s", "now", step="30s", now=NOW)
    assert (span.start, span.end, span.points) == (NOW - 100, NOW - 10, 4)
    assert resolve("now-10s", "now", step=None, now=NOW).step == 1


SPAN = TimeRange(start=0, end=5, step=1)


def test_counter_rises_count_resets_and_series_born_within_the_range():
    existing = Series({"action": "pause"}, ((0, 10), (1, 10), (2, 12), (3, 1), (4, 3), (5, 3)))  # reset at 3
    born = Series({"action": "pause"}, ((2, 2), (3, 2), (5, 4)))  # first action within the range; a missing point
    rises = counter_rises([existing, born], SPAN, key=lambda labels: labels["action"])["pause"]
    assert rises == [0, 0, 2 + 2, 1, 2, 2]
    assert sum(rises) == (12 - 10) + 1 + (3 - 1) + 4


def test_gauges_hold_for_the_step_after_each_point():
    assert integral([2, 2, None, 1, 0, 5], 10) == 50  # the last point starts no step
    assert time_above_zero([2, 0, None, 1, 0, 5], 10) == 20


@pytest.mark.parametrize(("value", "scale", "shown"), [
    (1043.2, ENERGY, "1043 J"), (5400, ENERGY, "1.50 Wh"), (7.2e6, ENERGY, "2.00 kWh"), (0.0123, MASS, "12.3 mg"),
    (0.0, MASS, "0.00 mg"), (2500, MASS, "2.50 kg"), (None, MASS, "n/a"),
])
def test_readable_units(value, scale, shown):
    assert human(value, scale) == shown


def test_the_report_runs_the_project_dashboards_own_expressions():
    panels = {panel["title"]: panel["targets"][0]["expr"] for panel in json.loads(PROJECT.read_text())["panels"]}
    for title, expr in queries.DASHBOARD_PANELS.items():
        assert panels[title] == expr, title


def test_names_are_filled_in_safely():
    assert queries.render(queries.HELD, namespace="team-a") == 'sum by (action) (gridshift_held_workloads{namespace="team-a"})'
    assert queries.render(queries.THRESHOLDS, zones=("DE", "IT_NORD", "US-CAL.CISO")) == \
        'gridshift_carbon_intensity_threshold_grams_per_kwh{zone=~"DE|IT_NORD|US-CAL\\\\.CISO"}'
