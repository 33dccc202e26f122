"""The `gridshift` command as a user runs it: real processes, real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import requests

from gridshift.demo.processes import free_port
from tests.conftest import TOKEN
from tests.serving import wait_ready

ROOT = Path(__file__).resolve().parents[1]
GRIDSHIFT = [sys.executable, "-m", "gridshift.cli"]


def test_bad_config_fails_with_every_problem_named(tmp_path):
    config = tmp_path / "gridshift.yaml"
    config.write_text("grid:\n  entsoe:\n    zones: [FR, ATLANTIS]\n    refresh: {actual_seconds: -1}\n")
    result = subprocess.run([*GRIDSHIFT, "exporter", "--config", str(config)], capture_output=True, text=True,
                            env={**os.environ, "ENTSOE_API_KEY": ""}, timeout=60)
    assert result.returncode == 2
    assert "unknown ENTSO-E zone 'ATLANTIS'" in result.stderr
    assert "grid.entsoe.refresh.actual_seconds: must be greater than 0" in result.stderr
    assert "no API token" in result.stderr


def test_exporter_serves_recorded_data_and_stops_on_sigterm(tmp_path, fake_entsoe):
    port = free_port()
    config = tmp_path / "gridshift.yaml"
    config.write_text(
        f"exporter: {{listen_address: 127.0.0.1, port: {port}}}\n"
        "grid:\n  staleness_limit_seconds: 1.0e+10\n"
        f"  entsoe: {{zones: [FI], endpoint: '{fake_entsoe.url}'}}\n"
    )
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    env = {**os.environ, "ENTSOE_API_KEY_FILE": str(token_file)}
    env.pop("ENTSOE_API_KEY", None)
    process = subprocess.Popen([*GRIDSHIFT, "exporter", "--config", str(config)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/readyz", process, "the exporter")
        assert ready["ready"] is True and "FI/entsoe/generation" in ready["datasets_held"]
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'gridshift_generation_watts{production_type="nuclear",psr_type="B14",zone="FI"} 4.0219e+09' in metrics
        assert "process_resident_memory_bytes" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert TOKEN not in stderr


def test_demo_runs_the_loop_without_a_token(recorded_data):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENTSOE_API_KEY", "GRIDSHIFT_WEBHOOK_TOKEN"))}
    result = subprocess.run([*GRIDSHIFT, "demo", "--duration", "16"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Prometheus:" in out and "/alerts" in out
    assert "team-batch" in out and "not opted in" in out
    # the replayed day, from noon (the first line within a few seconds of the start: an hour every 2 s)
    assert re.search(r"2022-06-01 1[2-4]:\d\d", out) and "g/kWh" in out
    assert "alert: High" in out and "team-batch/trainer: hold pause (applied)" in out
    assert "stopped" in out


def test_demo_says_how_to_install_missing_tools(recorded_data, tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no prometheus, no alertmanager
    result = subprocess.run([*GRIDSHIFT, "demo", "--duration", "1"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "apt-get install prometheus prometheus-alertmanager" in result.stderr


def test_demo_without_data_says_what_to_do(tmp_path):
    result = subprocess.run([*GRIDSHIFT, "demo", "--data", str(tmp_path), "--duration", "1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "recorded data not found" in result.stderr and "--data" in result.stderr


def test_demo_stops_on_sigterm_with_its_prometheus_and_alertmanager(recorded_data):
    import psutil

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENTSOE_API_KEY", "GRIDSHIFT_WEBHOOK_TOKEN"))}
    process = subprocess.Popen([*GRIDSHIFT, "demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the header is printed once the loop runs
            if line.startswith("time"):
                break
        children = psutil.Process(process.pid).children(recursive=True)
        assert {child.name() for child in children} >= {"prometheus", "prometheus-alertmanager"}
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert not [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]


def test_wheel_installs_only_under_gridshift(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("gridshift-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"gridshift"}
    names = set(zipfile.ZipFile(wheel).namelist())
    # Every module of the repository's package folders is in the wheel, under gridshift/.
    for folder, installed in (("gridshift", "gridshift"), ("exporters", "gridshift/exporters"), ("actions", "gridshift/actions")):
        for module in (ROOT / folder).rglob("*.py"):
            assert f"{installed}/{module.relative_to(ROOT / folder).as_posix()}" in names, module
