"""The Prometheus rules and the Alertmanager example, checked by the real promtool and amtool.

Aspects: the rules load; their unit tests (alertmanager/tests/, on a real day of German
intensity) pass; the unit test's input is that day, value for value; the alerts carry the
contract's names and labels; the Alertmanager example is valid and routes the four grid alerts to gridshift.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gridshift import names

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "alertmanager" / "rules.yaml"
RULES_TEST = ROOT / "alertmanager" / "tests" / "rules_test.yaml"
ALERTMANAGER = ROOT / "alertmanager" / "alertmanager.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: scripts/bootstrap installs the prometheus and prometheus-alertmanager packages")
    return path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_promtool_check_rules():
    result = run(tool("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass():
    result = run(tool("promtool"), "test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_unit_test_input_is_the_recorded_day(recorded_data):
    document = yaml.safe_load(RULES_TEST.read_text())
    series = document["tests"][0]["input_series"][0]
    assert series["series"].startswith("gridshift_carbon_intensity_grams_per_kwh")
    hourly = [float(item.split("x")[0]) for item in series["values"].split()]
    with (recorded_data / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv").open(encoding="utf-8") as handle:
        day = [float(row["Carbon Intensity gCO₂eq/kWh (LCA)"]) for row in csv.DictReader(handle)
               if row["Datetime (UTC)"].startswith("2022-06-01")]
    assert hourly == day and len(day) == 24


def test_alerts_carry_the_contract_names_and_labels():
    rules = {rule.get("alert"): rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    expected = {
        names.ALERT_HIGH: {"level": "high", "severity": "warning"},
        names.ALERT_CRITICAL: {"level": "critical", "severity": "critical"},
        names.ALERT_LOW: {"level": "low", "severity": "none"},  # not info: kps's InfoInhibitor
        names.ALERT_STALE: {"severity": "warning"},
        names.ALERT_WINDOW: {"level": "window", "severity": "none"},  # a gridshift addition (docs/actions.md "Plans")
    }
    for alert, labels in expected.items():
        assert rules[alert]["labels"] == labels, alert
        assert "zone" in rules[alert]["expr"]
    # Only the intensity alerts carry `level`: the action service ignores everything else.
    assert {a for a, r in rules.items() if a and "level" in r.get("labels", {})} == {
        names.ALERT_HIGH, names.ALERT_CRITICAL, names.ALERT_LOW, names.ALERT_WINDOW}


def test_alertmanager_example_is_valid_and_routes_the_grid_alerts_to_gridshift():
    result = run(tool("amtool"), "check-config", str(ALERTMANAGER))
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(ALERTMANAGER.read_text())
    [route] = [r for r in config["route"]["routes"] if r["receiver"] == "gridshift-actions"]
    assert route["group_by"] == ["zone"] and route["continue"] is True
    [receiver] = [r for r in config["receivers"] if r["name"] == "gridshift-actions"]
    webhook = receiver["webhook_configs"][0]
    assert webhook["url"].endswith("/api/v1/alerts") and webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["credentials_file"]
    (matcher,) = route["matchers"]
    name, alternatives = re.fullmatch(r'(\w+)=~"(.*)"', matcher).groups()
    assert name == "alertname"
    assert set(alternatives.split("|")) == {names.ALERT_HIGH, names.ALERT_CRITICAL, names.ALERT_LOW, names.ALERT_STALE, names.ALERT_WINDOW}
