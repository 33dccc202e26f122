"""Issue 19 item 3, with real processes: two `gridshift actions` replicas elect a leader through a
Lease on the emulator; the leader is killed (SIGKILL) in the middle of its hold pass; the other
takes the Lease once it has expired by its own clock and finishes the pass. Nothing is stranded
(every workload held), nothing handled twice (one hold patch and one GridshiftHeld Event each)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import requests

from gridshift.demo.processes import free_port
from tests.actions.conftest import AUTH, TOKEN, alert, payload
from tests.actions.test_command import GRIDSHIFT, environment, kubeconfig
from tests.serving import wait_ready

WORKLOADS = 12
ELECTION = ("leader_election: {enabled: true, lease_namespace: gridshift, lease_duration_seconds: 3, "
            "renew_deadline_seconds: 2, retry_period_seconds: 0.5}")


def replica(tmp_path, k8s, name: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    config = tmp_path / f"{name}.yaml"
    # 4 writes a second: the hold pass of 12 workloads (a patch and an Event each) takes about 6 s
    config.write_text(f"actions: {{listen_address: 127.0.0.1, port: {port}, reconcile_seconds: 3600, "
                      f"max_writes_per_second: 4, {ELECTION}}}\n")
    env = environment(tmp_path, GRIDSHIFT_WEBHOOK_TOKEN=TOKEN, POD_NAME=name)
    process = subprocess.Popen([*GRIDSHIFT, "actions", "--config", str(config), "--kubeconfig",
                                str(kubeconfig(tmp_path / "kubeconfig", k8s.base_url))],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{port}"


def role(url: str) -> str | None:
    try:
        return requests.get(f"{url}/readyz", timeout=2).json().get("role")
    except (requests.RequestException, ValueError):
        return None


def until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def hold_patches(cluster) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in cluster.patches(namespace="fleet"):
        if "gridshift.io~1state" in json.dumps(request.data) or "gridshift.io/state" in json.dumps(request.data):
            counts[request.name] = counts.get(request.name, 0) + 1
    return counts


def test_the_leader_killed_mid_pass_is_replaced_and_nothing_is_done_twice(tmp_path, cluster, k8s):
    cluster.namespace("fleet", {"gridshift.io/action": "scale-down", "gridshift.io/zone": "DE_LU"})
    for index in range(WORKLOADS):
        cluster.deployment("fleet", f"web-{index:02d}", replicas=4)
    first, first_url = replica(tmp_path, k8s, "pod-a")
    second = None
    try:
        wait_ready(f"{first_url}/readyz", first, "pod-a")
        until(lambda: role(first_url) == "leader", 15, "pod-a never led")
        second, second_url = replica(tmp_path, k8s, "pod-b")
        wait_ready(f"{second_url}/readyz", second, "pod-b")
        assert role(second_url) == "follower"
        body = payload(alert("DE_LU", "high"))
        for url in (second_url, first_url):  # Alertmanager's webhook, to both (each keeps its book)
            assert requests.post(f"{url}/api/v1/alerts", json=body, headers=AUTH, timeout=5).status_code == 200
        until(lambda: len(hold_patches(cluster)) >= 4, 30, "pod-a did not start its pass")
        first.send_signal(signal.SIGKILL)  # mid-pass: no Lease given up, no pass finished
        first.wait(10)
        held_by_first = len(hold_patches(cluster))
        assert held_by_first < WORKLOADS
        until(lambda: len(hold_patches(cluster)) == WORKLOADS, 60, "pod-b did not finish the pass")
        assert role(second_url) == "leader"
        time.sleep(1)  # any second write would have come by now
        assert set(hold_patches(cluster).values()) == {1}  # each held once
        for index in range(WORKLOADS):
            name = f"web-{index:02d}"
            assert cluster.state("Deployment", "fleet", name)["action"] == "scale-down"
            assert len(cluster.events("fleet", name, reason="GridshiftHeld")) == 1
        lease = k8s.state("coordination.k8s.io/v1/leases", "gridshift", "gridshift-actions")["spec"]
        assert lease["holderIdentity"] == "pod-b" and lease["leaseTransitions"] == 1
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=30)
