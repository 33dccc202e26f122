"""`--log-format json` / `log_format: json` (issue 19 item 2): one JSON object a line, a decision
as its own fields, no secret in any line; a format that does not exist is refused up front."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry

from gridshift import logs
from gridshift.actions.decisions import DecisionLog
from gridshift.actions.executor import Outcome, Result
from gridshift.actions.instruments import ActionInstruments
from gridshift.actions.kinds import DEPLOYMENT
from gridshift.actions.policy import Decision, Verb
from gridshift.config import ConfigError, build_config
from gridshift.demo.processes import free_port
from tests.conftest import TOKEN
from tests.serving import wait_ready

GRIDSHIFT = [sys.executable, "-m", "gridshift.cli"]


@pytest.fixture
def restore_logging():
    """The root logger as it was after; gridshift's at its default during (the savings simulator
    quiets it, and an earlier test may have run one)."""
    root, ours = logging.getLogger(), logging.getLogger("gridshift")
    handlers, level, our_level = root.handlers[:], root.level, ours.level
    ours.setLevel(logging.NOTSET)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    ours.setLevel(our_level)


def test_a_decision_is_its_own_fields_in_json(capsys, restore_logging) -> None:
    logs.configure("info", "json")
    log = DecisionLog(keep=5, instruments=ActionInstruments(CollectorRegistry()), clock=lambda: 1_764_000_000.0)
    decision = Decision(Verb.HOLD, DEPLOYMENT, "team-a", "web", reason="GridCarbonIntensityHigh in DE_LU",
                        action="pause", zone="DE_LU")
    log.record(decision, Outcome(Result.APPLIED, "held", {"/spec/replicas": 3}, {"/spec/replicas": 0}))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [line] = [line for line in lines if line["logger"] == "gridshift.decisions"]
    assert line["level"] == "info" and line["time"].endswith("Z") and line["message"] == "decision"
    assert line["decision"]["namespace"] == "team-a" and line["decision"]["name"] == "web"
    assert line["decision"]["result"] == "applied" and line["decision"]["zone"] == "DE_LU"


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="log_format: must be text or json"):
        build_config({"log_format": "yaml"}, env={})
    result = subprocess.run([*GRIDSHIFT, "exporter", "--log-format", "yaml"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice: 'yaml'" in result.stderr


def test_the_exporter_logs_json_lines_without_its_token(tmp_path, fake_entsoe) -> None:
    port = free_port()
    config = tmp_path / "gridshift.yaml"
    config.write_text(f"exporter: {{listen_address: 127.0.0.1, port: {port}}}\n"
                      f"grid:\n  entsoe: {{zones: [FI], endpoint: '{fake_entsoe.url}'}}\n")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    env = {**os.environ, "ENTSOE_API_KEY_FILE": str(token_file)}
    env.pop("ENTSOE_API_KEY", None)
    process = subprocess.Popen([*GRIDSHIFT, "exporter", "--config", str(config), "--log-format", "json"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, "the exporter")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    assert TOKEN not in stderr
