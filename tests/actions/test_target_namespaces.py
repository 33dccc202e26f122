"""actions.target_namespaces (the chart sets it from rbac.targetNamespaces): the service reads and
acts on those namespaces only, each with namespaced requests, so it runs with namespaced read
RBAC (no cluster-wide list of workloads or pods); `restore --all` keeps to them too."""

from __future__ import annotations

import pytest

from gridshift.actions.kube.client import Kube
from gridshift.actions.restore import run_restore
from gridshift.config import ConfigError, build_config
from tests.actions.conftest import TOKEN, alert

HIGH = alert("DE_LU", "high")
# What may still be read cluster-wide: the namespaces' opt-in annotations and the nodes' zones.
CLUSTER_WIDE = {"namespaces", "nodes"}


@pytest.fixture
def two_teams(cluster):
    cluster.node("node-1", zone="DE_LU")
    for team in ("team-a", "team-b"):
        cluster.namespace(team, {"gridshift.io/action": "pause"})
        cluster.deployment(team, "web", replicas=3)
        cluster.pod(team, "web-1", "node-1")
    return cluster


def test_only_the_target_namespaces_are_read_and_held(make_service, two_teams):
    service = make_service({"target_namespaces": ["team-a"]})
    mark = two_teams.mark()
    service.notify(HIGH)
    service.reconcile()
    assert two_teams.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0
    assert two_teams.get("Deployment", "team-b", "web")["spec"]["replicas"] == 3  # opted in, but not a target
    assert {d["namespace"] for d in service.decisions()} == {"team-a"}
    reads = [r for r in two_teams.requests(mark) if r.method.value.upper() == "GET"]
    assert reads
    for request in reads:
        assert request.namespace == "team-a" or request.resource.plural in CLUSTER_WIDE, request


def test_without_targets_every_namespace_is_acted_on(make_service, two_teams):
    service = make_service()
    service.notify(HIGH)
    service.reconcile()
    assert all(two_teams.get("Deployment", team, "web")["spec"]["replicas"] == 0 for team in ("team-a", "team-b"))


def test_restore_all_keeps_to_the_target_namespaces(make_service, two_teams, api, clock):
    service = make_service()
    service.notify(HIGH)
    service.reconcile()
    printed: list[str] = []
    mark = two_teams.mark()
    code = run_restore(kube=Kube(api, timeout_seconds=3), namespaces=("team-a",), dry_run="", karmada=False,
                       protected=frozenset(), clock=clock, out=printed.append)
    assert code == 0
    assert two_teams.get("Deployment", "team-a", "web")["spec"]["replicas"] == 3
    assert two_teams.get("Deployment", "team-b", "web")["spec"]["replicas"] == 0
    assert printed[-1].endswith("1 held in namespace team-a: 1 restored")
    assert all(r.namespace == "team-a" for r in two_teams.requests(mark))


def test_a_namespace_named_twice_is_refused():
    with pytest.raises(ConfigError, match="actions.target_namespaces: lists a namespace twice"):
        build_config({"actions": {"target_namespaces": ["team-a", "team-a"]}}, env={"GRIDSHIFT_WEBHOOK_TOKEN": TOKEN})
