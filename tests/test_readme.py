"""Every command in the README works as written.

Each shell line of the README's code blocks must be claimed by one entry of COVERED, naming the
test that runs it, so a command added to the README fails here until something runs it. The quick
starts run here as real processes; what cannot run on this machine is said in each test: the real
upstreams (ENTSO-E, the UK API) are local servers replaying recorded payloads, the cluster is
kmock's emulator behind a kubeconfig, and `kubectl annotate` is the same patch through the
kubernetes client (there is no kubectl here). Ports come from the command line, not the README's
fixed ones, so a busy port cannot fail the suite.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import yaml
from pytest_httpserver import HTTPServer

from tests.conftest import TOKEN
from tests.kube_emulator import make_api_client, running_emulator
from gridshift.demo.processes import free_port
from tests.serving import wait_ready
from tests.test_cli import GRIDSHIFT

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLE = ROOT / "docs" / "examples" / "gridshift.yaml"
WEBHOOK_TOKEN = "readme-webhook-token-3b9d"

# README shell line (a regular expression, matched from its start) -> the test that runs it
COVERED = {
    r"scripts/demo\b": "test_the_demo_script_runs_the_loop",
    r"scripts/test\b": "CI itself: .ci/run is this command",
    r"export ENTSOE_API_KEY=": "test_the_exporter_quick_start",
    r"\.venv/bin/gridshift exporter --config docs/examples/gridshift\.yaml$": "test_the_exporter_quick_start",
    r"curl -s localhost:9500/metrics \| grep gridshift_carbon_intensity$": "test_the_exporter_quick_start",
    r"curl -s 'localhost:9500/api/v1/forecast\?zone=DE_LU&duration=4h'": "test_the_exporter_quick_start",
    r"export GRIDSHIFT_WEBHOOK_TOKEN=": "test_the_action_service_quick_start",
    r"\.venv/bin/gridshift actions --config docs/examples/gridshift\.yaml --dry-run$": "test_the_action_service_quick_start",
    r"kubectl annotate namespace team-a gridshift\.io/action=pause$": "test_the_action_service_quick_start",
    r"curl -s localhost:9600/api/v1/decisions$": "test_the_action_service_quick_start",
    r"\.venv/bin/gridshift actions restore --all\b": "test_restore_all_quick_start",
    r"\.venv/bin/pip install -e '\.\[report\]'": "bootstrap installs the test extra, which includes report",
    r"\.venv/bin/gridshift report --namespace team-a --from 7d --prometheus http://localhost:9090": "tests/report/test_report.py",
    r"--actions-url http://localhost:9600 --out reports/team-a$": "tests/report/test_report.py",
    r"helm (install|template|lint) ": "tests/chart (helm-python-sdk: lint, template, install --dry-run=server)",
    r"--set (image\.repository|kubePrometheusStack\.release)=": "tests/chart/test_render.py, tests/alerting",
    r"helm uninstall ": "tests/chart/test_config.py (the hook) and tests/actions/test_quiesce.py (what it runs)",
}


def readme_commands() -> list[str]:
    """The shell lines of the README's ```sh blocks, comments and continuation marks removed."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    lines = [line.split("  #")[0].rstrip(" \\").strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_every_readme_command_is_run_by_a_test():
    commands = readme_commands()
    assert len(commands) >= 10
    unclaimed = [line for line in commands if not any(re.match(pattern, line) for pattern in COVERED)]
    assert not unclaimed, f"README commands no test runs: {unclaimed}"
    for pattern, test in COVERED.items():
        if test.startswith("test_"):
            assert test in globals(), f"{pattern}: {test} does not exist"


def test_the_demo_script_runs_the_loop():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENTSOE_API_KEY", "GRIDSHIFT_WEBHOOK_TOKEN"))}
    result = subprocess.run([str(ROOT / "scripts" / "demo"), "--duration", "12"], cwd=ROOT, capture_output=True,
                            text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "g/kWh" in result.stdout and "Traceback" not in result.stderr


# --- the grid exporter ----------------------------------------------------------------------------


def example_with(tmp_path: Path, **sections: dict[str, Any]) -> Path:
    """docs/examples/gridshift.yaml with some keys replaced (upstream endpoints, ports)."""
    config = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for dotted, value in sections.items():
        *parents, leaf = dotted.split("__")
        node = config
        for key in parents:
            node = node[key]
        node[leaf] = value
    path = tmp_path / "gridshift.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def uk_replay(httpserver: HTTPServer, recorded_data: Path) -> str:
    """The UK Carbon Intensity API answered with its recorded national and regional responses."""
    national = (recorded_data / "intensity" / "ukci_national_intensity_2023-07-04_stuartharris.json").read_text()
    regional = (recorded_data / "intensity" / "ukci_regional_postcode_KT1_2023-07-04_stuartharris.json").read_text()
    httpserver.expect_request(re.compile(r"^/uk/intensity/")).respond_with_data(national, content_type="application/json")
    httpserver.expect_request(re.compile(r"^/uk/regional/")).respond_with_data(regional, content_type="application/json")
    return httpserver.url_for("/uk")


@contextlib.contextmanager
def serving(command: list[str], env: dict[str, str], ready_url: str) -> Iterator[subprocess.Popen[str]]:
    """`command` running until the block ends (SIGTERM), once `ready_url` answers 200."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(ready_url, process, command[3], tries=150)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


def test_the_exporter_quick_start(tmp_path, fake_entsoe, httpserver, recorded_data):
    port = free_port()
    config = example_with(tmp_path, grid__entsoe__endpoint=fake_entsoe.url,
                          grid__ukgrid__endpoint=uk_replay(httpserver, recorded_data))
    env = {**os.environ, "ENTSOE_API_KEY": TOKEN}
    command = [*GRIDSHIFT, "exporter", "--config", str(config), "--port", str(port)]
    with serving(command, env, f"http://127.0.0.1:{port}/readyz"):  # every zone tried once
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        intensity = [line for line in metrics.splitlines() if line.startswith("gridshift_carbon_intensity")]
        assert 'gridshift_carbon_intensity_grams_per_kwh{basis="provider",source="static",zone="ONPREM"} 250.0' in intensity
        # Every request went to the local servers (none to the real upstreams), for the example's zones.
        asked = {request["in_Domain"] for request in fake_entsoe.requests if "in_Domain" in request}
        assert {"10Y1001A1001A82H", "10YFR-RTE------C", "10YNL----------L", "10YCH-SWISSGRIDZ"} <= asked
        uk_paths = {request.path for request, _ in httpserver.log}
        assert any(path.endswith("/postcode/KT1") for path in uk_paths) and any(path.endswith("/regionid/13") for path in uk_paths)
        answer = requests.get(f"http://127.0.0.1:{port}/api/v1/forecast?zone=DE_LU&duration=4h", timeout=5)
        # The recordings hold no DE_LU day: the API says so in JSON, as it would before the first fetch.
        assert answer.status_code == 503 and "no data held for 'DE_LU' yet" in answer.json()["error"]
        static = requests.get(f"http://127.0.0.1:{port}/api/v1/forecast?zone=ONPREM&duration=4h", timeout=5)
        assert static.status_code == 200 and static.json()[0]["location"] == "ONPREM"


# --- the action service ---------------------------------------------------------------------------


def kubeconfig_for(base_url: str, path: Path) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
        "clusters": [{"name": "emulator", "cluster": {"server": base_url}}],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "nobody"}}],
    }), encoding="utf-8")
    return path


def action_env(tmp_path: Path, kubeconfig: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENTSOE_API_KEY", "KUBERNETES_SERVICE"))}
    env.update(GRIDSHIFT_WEBHOOK_TOKEN=WEBHOOK_TOKEN, HOME=str(tmp_path), NO_PROXY="127.0.0.1,localhost")
    env["KUBECONFIG"] = str(kubeconfig) if kubeconfig else str(tmp_path / "no-kubeconfig")
    return env


def add_team_a(emu: Any) -> None:
    emu.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    emu.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "team-a"},
             "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})


def high_alert(zone: str) -> dict[str, Any]:
    labels = {"alertname": "GridCarbonIntensityHigh", "zone": zone, "level": "high", "severity": "warning"}
    return {"version": "4", "status": "firing", "receiver": "gridshift", "groupKey": "{}:{zone}", "groupLabels": {},
            "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://am", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": labels, "annotations": {}, "startsAt": "2026-01-01T00:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "0123456789abcdef"}]}


def test_the_action_service_quick_start(tmp_path):
    """README: token, `gridshift actions --config docs/examples/gridshift.yaml --dry-run`, opt a namespace in,
    read the decisions. No ENTSO-E token is set: the action service does not need the exporter's."""
    port = free_port()
    with running_emulator() as emu:
        add_team_a(emu)
        env = action_env(tmp_path, kubeconfig_for(emu.base_url, tmp_path / "kubeconfig"))
        command = [*GRIDSHIFT, "actions", "--config", str(EXAMPLE), "--dry-run", "--port", str(port)]
        with serving(command, env, f"http://127.0.0.1:{port}/healthz") as process:
            # kubectl annotate namespace team-a gridshift.io/action=pause
            from kubernetes import client

            core = client.CoreV1Api(make_api_client(emu.base_url))
            core.patch_namespace("team-a", {"metadata": {"annotations": {"gridshift.io/action": "pause"}}})
            posted = requests.post(f"http://127.0.0.1:{port}/api/v1/alerts", json=high_alert("DE_LU"), timeout=5,
                                   headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
            assert posted.status_code == 200, posted.text
            decisions: list[dict[str, Any]] = []
            for _ in range(100):
                decisions = requests.get(f"http://127.0.0.1:{port}/api/v1/decisions", timeout=5).json()["decisions"]
                if any(d["namespace"] == "team-a" for d in decisions):
                    break
                time.sleep(0.2)
            [held] = [d for d in decisions if d["namespace"] == "team-a"]
            assert (held["name"], held["action"]) == ("web", "pause") and "dry" in held["result"], held
            apps = client.AppsV1Api(make_api_client(emu.base_url))
            web = apps.read_namespaced_deployment("web", "team-a")
            assert web.spec.replicas == 3 and "gridshift.io/state" not in (web.metadata.annotations or {})
            assert process.poll() is None


def test_the_action_service_without_a_kubeconfig_says_so_in_one_line(tmp_path):
    result = subprocess.run([*GRIDSHIFT, "actions", "--config", str(EXAMPLE), "--dry-run"], cwd=ROOT,
                            env=action_env(tmp_path, None), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("gridshift actions:") and "kubeconfig" in line


def test_restore_all_quick_start(tmp_path):
    """`gridshift actions restore --all` before uninstalling: a held workload is put back as it was."""
    from gridshift.actions.state import HoldState

    state = HoldState(action="pause", original={"/spec/replicas": 3}, applied={"/spec/replicas": 0},
                      since=time.time() - 600, alert="0123456789abcdef@2026-01-01T00:00:00Z", zone="DE_LU")
    with running_emulator() as emu:
        add_team_a(emu)
        from kubernetes import client

        apps = client.AppsV1Api(make_api_client(emu.base_url))
        apps.patch_namespaced_deployment("web", "team-a", {"metadata": {"annotations": {
            "gridshift.io/state": state.encode()}}, "spec": {"replicas": 0}})
        env = action_env(tmp_path, kubeconfig_for(emu.base_url, tmp_path / "kubeconfig"))
        result = subprocess.run([*GRIDSHIFT, "actions", "restore", "--all", "--config", str(EXAMPLE)], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "team-a" in result.stdout and "web" in result.stdout
        web = apps.read_namespaced_deployment("web", "team-a")
        assert web.spec.replicas == 3 and "gridshift.io/state" not in (web.metadata.annotations or {})
