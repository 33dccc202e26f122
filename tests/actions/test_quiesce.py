"""The uninstall hook stops the action service before it restores (actions/quiesce.py), so the
service cannot hold again what was just restored; a failed restore starts the service again, and a
service that cannot be stopped means nothing is restored."""

from __future__ import annotations

import json
from functools import partial

import pytest

from gridshift.actions.kube.client import Kube
from gridshift.actions.quiesce import QuiesceError, stop_service
from gridshift.actions.restore import run_restore
from tests.actions.conftest import alert

HIGH = alert("DE_LU", "high")
SERVICE = ("gridshift", "gridshift-actions")


class Controller:
    """Stands in for the Deployment controller while the hook waits: status follows spec."""

    def __init__(self, cluster, *, works: bool = True) -> None:
        self.cluster, self.works, self.waits = cluster, works, 0

    def __call__(self, _seconds: float) -> None:
        self.waits += 1
        if self.works:
            replicas = self.cluster.get("Deployment", *SERVICE)["spec"]["replicas"]
            self.cluster.set("Deployment", *SERVICE, lambda d: d["status"].update(replicas=replicas))


@pytest.fixture
def held(make_service, cluster):
    cluster.namespace("gridshift")
    cluster.deployment(*SERVICE, replicas=1)
    cluster.node("node-1", zone="DE_LU")
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=3)
    service = make_service()
    service.notify(HIGH)
    service.reconcile()
    assert cluster.state("Deployment", "team-a", "web") is not None
    return cluster


def restore(api, clock, **kwargs):
    printed: list[str] = []
    code = run_restore(kube=Kube(api, timeout_seconds=3), namespaces=(), karmada=False, protected=frozenset(),
                       clock=clock, out=printed.append, **{"dry_run": "", **kwargs})
    return code, printed


def test_the_service_is_stopped_before_anything_is_restored(api, clock, held):
    mark = held.mark()
    code, printed = restore(api, clock, stop=SERVICE, stop_service=partial(stop_service, sleep=Controller(held)))
    assert code == 0, printed
    assert held.get("Deployment", *SERVICE)["spec"]["replicas"] == 0  # Helm deletes it next
    assert held.get("Deployment", "team-a", "web")["spec"]["replicas"] == 3
    order = [(p.namespace, p.name) for p in held.patches(since=mark)]
    assert order.index(SERVICE) < order.index(("team-a", "web"))
    assert printed[0] == "gridshift actions restore: stopped the action service gridshift/gridshift-actions (it ran 1 replica(s))"


def test_a_failed_restore_starts_the_service_again(api, clock, held):
    held.set("Deployment", "team-a", "web",
             lambda d: d["metadata"]["annotations"].update({"gridshift.io/state": json.dumps({"version": 1})}))
    code, printed = restore(api, clock, stop=SERVICE, stop_service=partial(stop_service, sleep=Controller(held)))
    assert code == 1
    assert held.get("Deployment", *SERVICE)["spec"]["replicas"] == 1  # back, with its holds and its way back
    assert "started the action service again (1 replica(s))" in printed[-1]


def test_a_service_that_does_not_stop_is_scaled_back_and_nothing_is_restored(api, held):
    calls: set[tuple[str, str, str]] = set()
    kube = Kube(api, timeout_seconds=3, on_call=lambda *call: calls.add(call))
    now = [0.0]
    controller = Controller(held, works=False)

    def sleep(seconds: float) -> None:
        now[0] += seconds
        controller(seconds)

    with pytest.raises(QuiesceError, match=r"1 pod\(s\) still running after 5 s; nothing restored"):
        stop_service(kube, *SERVICE, wait_seconds=5, clock=lambda: now[0], sleep=sleep)
    assert held.get("Deployment", *SERVICE)["spec"]["replicas"] == 1
    assert held.state("Deployment", "team-a", "web") is not None
    # what the chart's actions-stop Role grants (tests/chart/test_rbac.py), and nothing else
    assert calls == {("get", "apps", "deployments"), ("patch", "apps", "deployments")}


def test_a_missing_service_is_a_clear_error_and_nothing_is_restored(api, clock, held):
    code, printed = restore(api, clock, stop=("gridshift", "no-such-deployment"))
    assert code == 1
    assert printed == ["gridshift actions restore: cannot read the action service's deployment "
                       f"gridshift/no-such-deployment: {printed[0].split(': ', 2)[2]}"]
    assert "not found" in printed[0].lower()
    assert held.state("Deployment", "team-a", "web") is not None


def test_a_hook_without_the_rbac_to_stop_the_service_restores_nothing(api, clock, held, k8s):
    k8s.inject("GET", "deployments", status=403, times=None)
    code, printed = restore(api, clock, stop=SERVICE)
    assert code == 1
    assert printed[0].startswith("gridshift actions restore: cannot read the action service's deployment "
                                 "gridshift/gridshift-actions:") and "403" in printed[0]
    assert held.state("Deployment", "team-a", "web") is not None


def test_a_dry_run_leaves_the_service_running(api, clock, held):
    code, _ = restore(api, clock, stop=SERVICE, dry_run="client")
    assert code == 0
    assert held.get("Deployment", *SERVICE)["spec"]["replicas"] == 1
