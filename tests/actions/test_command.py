"""`gridshift actions` and `gridshift actions restore` as a user runs them: real processes, a kubeconfig
pointing at the emulator.

Aspects: no kubeconfig and no service account -> one line on stderr and exit 2 (both commands, and a
--kubeconfig that does not exist), never a traceback; `restore` needs --all or --namespace; `restore
--all` restores what the service held and a second run says there is nothing to restore, with no
webhook token set; `gridshift actions --dry-run=server` serves and says so on /readyz.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gridshift.demo.processes import free_port
from tests.actions.conftest import TOKEN, alert
from tests.serving import wait_ready

GRIDSHIFT = [sys.executable, "-m", "gridshift.cli"]
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def environment(home: Path, **extra: str) -> dict[str, str]:
    """No service account, no ~/.kube/config, no token, no proxy: only what the test adds."""
    env = {key: value for key, value in os.environ.items() if key not in PROXIES and key not in (
        "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "GRIDSHIFT_WEBHOOK_TOKEN")}
    return {**env, "HOME": str(home), "NO_PROXY": "127.0.0.1,localhost", **extra}


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: emulator, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: tester, user: {token: not-checked}}]\n"
        "contexts: [{name: test, context: {cluster: emulator, user: tester}}]\n"
        "current-context: test\n")
    return path


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRIDSHIFT, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize(("command", "prefix"), [(["actions"], "gridshift actions: "),
                                                (["actions", "restore", "--all"], "gridshift actions restore: ")],
                         ids=["actions", "restore"])
def test_no_kubeconfig_is_one_line_and_exit_2(tmp_path, command, prefix):
    result = run(*command, env=environment(tmp_path, GRIDSHIFT_WEBHOOK_TOKEN=TOKEN))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(prefix)
    assert "no in-cluster service account and no usable kubeconfig" in line and "--kubeconfig" in line
    assert TOKEN not in result.stderr


def test_a_kubeconfig_that_does_not_exist_is_named(tmp_path):
    result = run("actions", "restore", "--all", "--kubeconfig", str(tmp_path / "nope"), env=environment(tmp_path))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"gridshift actions restore: kubeconfig {tmp_path / 'nope'} is not usable")


def test_restore_needs_a_scope(tmp_path):
    result = run("actions", "restore", env=environment(tmp_path))
    assert result.returncode == 2
    assert "one of the arguments --all --namespace is required" in result.stderr


def test_restore_all_restores_what_the_service_held_and_a_second_run_finds_nothing(tmp_path, service, cluster, k8s):
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=3)
    service.notify(alert("DE_LU", "high"))
    service.reconcile()
    assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0
    config = kubeconfig(tmp_path / "kubeconfig", k8s.base_url)
    env = environment(tmp_path)  # no webhook token: restore does not need one

    first = run("actions", "restore", "--all", "--kubeconfig", str(config), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "restored Deployment team-a/web: /spec/replicas 0 -> 3",
        "gridshift actions restore: 1 held in all namespaces: 1 restored"]
    assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == 3
    assert cluster.state("Deployment", "team-a", "web") is None

    second = run("actions", "restore", "--namespace", "team-a", "--kubeconfig", str(config), env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        "gridshift actions restore: nothing to restore in namespace team-a: no object carries gridshift.io/state"]


def test_the_service_runs_with_a_server_dry_run(tmp_path, k8s):
    port = free_port()
    config = tmp_path / "gridshift.yaml"
    config.write_text(f"actions: {{listen_address: 127.0.0.1, port: {port}}}\n")
    env = environment(tmp_path, GRIDSHIFT_WEBHOOK_TOKEN=TOKEN)
    process = subprocess.Popen([*GRIDSHIFT, "actions", "--config", str(config), "--dry-run=server", "--kubeconfig",
                                str(kubeconfig(tmp_path / "kubeconfig", k8s.base_url))],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/readyz", process, "gridshift actions")
        assert (ready["dry_run"], ready["dry_run_mode"]) == (True, "server")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "(server dry run)" in stderr
