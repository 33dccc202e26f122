"""The action service with more than one replica: leader election through a Lease, rolled, kept up.

Aspects: actions.replicas 2 renders 2 replicas rolled (maxUnavailable 0, maxSurge 1) instead of
replaced; the rendered config turns leader election on (and the loader accepts it), with a Lease
named after the release; the action service may get and update only that Lease and create
Leases, in the Lease's namespace only, nothing more; the PodDisruptionBudget keeps one replica up;
without an Alertmanager to keep the followers' books, or with leader election switched off by
hand, the chart refuses to render and says what to set; one replica (the default) has none of it:
no Lease RBAC, Recreate, leader election off.
"""

from __future__ import annotations

import helm_python as helm
import pytest

from gridshift.config import build_config
from tests.chart.render import COMBINATIONS, NAMESPACE, render
from tests.chart.test_rbac import CLUSTER, grants

HA = COMBINATIONS["ha"]
LEASES = "coordination.k8s.io"


def lease_grants(rendered, *, named: bool) -> set:
    return {g for g in grants(rendered, "gridshift-actions", named=named) if g[0] == LEASES}


def test_two_replicas_are_rolled_not_replaced():
    deployment = render(HA).get("Deployment", "gridshift-actions")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def test_leader_election_is_on_in_the_rendered_config_and_loads():
    rendered = render(HA)
    election = rendered.config("actions")["actions"]["leader_election"]
    assert election == {"enabled": True, "lease_name": "gridshift-actions"}
    config = build_config(rendered.config("actions"), env={}, role="actions")
    assert config.actions.leader_election.enabled is True
    assert config.actions.leader_election.lease_namespace == ""  # the pod's own: POD_NAMESPACE, which the pod has
    env = {e["name"] for e in rendered.get("Deployment", "gridshift-actions")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "POD_NAMESPACE" in env
    other = render(HA, name="carbon")  # one Lease per release
    assert other.config("actions")["actions"]["leader_election"]["lease_name"] == "carbon-gridshift-actions"


def test_the_lease_rbac_is_that_lease_only_and_create():
    rendered = render(HA)
    assert lease_grants(rendered, named=True) == {(LEASES, "leases/gridshift-actions", verb, NAMESPACE) for verb in ("get", "update")}
    assert lease_grants(rendered, named=False) == {(LEASES, "leases", "create", NAMESPACE)}
    assert not {g for g in lease_grants(rendered, named=False) | lease_grants(rendered, named=True) if g[3] == CLUSTER}
    (role,) = [r for r in rendered.of_kind("Role") if r["metadata"]["name"] == "gridshift-actions-lease"]
    assert all(rule["resources"] == ["leases"] for rule in role["rules"])


def test_the_lease_rbac_follows_the_lease_name_and_namespace():
    values = {**HA, "config": {"actions": {**HA["config"]["actions"],
                                          "leader_election": {"lease_name": "mine", "lease_namespace": "leases"}}}}
    rendered = render(values)
    assert rendered.config("actions")["actions"]["leader_election"] == {"enabled": True, "lease_name": "mine",
                                                                        "lease_namespace": "leases"}
    assert lease_grants(rendered, named=True) == {(LEASES, "leases/mine", verb, "leases") for verb in ("get", "update")}
    assert lease_grants(rendered, named=False) == {(LEASES, "leases", "create", "leases")}


def test_the_disruption_budget_keeps_one_replica_up():
    assert render(HA).get("PodDisruptionBudget", "gridshift-actions")["spec"]["minAvailable"] == 1
    assert "maxUnavailable" not in render(HA).get("PodDisruptionBudget", "gridshift-actions")["spec"]
    mine = render({**HA, "actions": {"replicas": 3, "podDisruptionBudget": {"enabled": True, "minAvailable": 2}}})
    assert mine.get("PodDisruptionBudget", "gridshift-actions")["spec"]["minAvailable"] == 2
    # one replica: minAvailable 1 would block every drain; the budget stays maxUnavailable 1
    assert render().get("PodDisruptionBudget", "gridshift-actions")["spec"] == {
        "maxUnavailable": 1, "selector": render().get("PodDisruptionBudget", "gridshift-actions")["spec"]["selector"]}


def test_kube_prometheus_stacks_alertmanager_will_do():
    rendered = render({"actions": {"replicas": 2}, "kubePrometheusStack": {"release": "kps"}})
    assert rendered.config("actions")["actions"]["alertmanager_url"] == "http://kps-kube-prometheus-stack-alertmanager.monitoring.svc:9093"
    assert rendered.config("actions")["actions"]["leader_election"]["enabled"] is True


REFUSED = [
    ({"actions": {"replicas": 2}},
     "the action service runs with leader election (actions.replicas > 1) but no Alertmanager is known: followers keep their "
     "alert books from Alertmanager's API, so set config.actions.alertmanager_url, or kubePrometheusStack.release"),
    ({**HA, "config": {"actions": {**HA["config"]["actions"], "leader_election": {"enabled": False}}}},
     "actions.replicas is 2 but config.actions.leader_election.enabled is false"),
]


@pytest.mark.parametrize(("values", "message"), REFUSED, ids=["no-alertmanager", "election-off"])
def test_what_cannot_work_is_refused_with_what_to_set(values, message):
    with pytest.raises(helm.HelmError) as refused:
        render(values)
    assert message in str(refused.value), str(refused.value)


def test_one_replica_has_no_leader_election_and_no_lease_rbac():
    rendered = render()
    deployment = rendered.get("Deployment", "gridshift-actions")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert "leader_election" not in rendered.config("actions")["actions"]
    assert not lease_grants(rendered, named=True) and not lease_grants(rendered, named=False)
    assert not [r for r in rendered.objects if "lease" in r["metadata"]["name"]]
    # and one replica with leader election asked for gets the Lease's RBAC (a rolling update is then safe)
    asked = render({"config": {"actions": {"leader_election": {"enabled": True}, "alertmanager_url": "http://am:9093"}}})
    assert lease_grants(asked, named=False) == {(LEASES, "leases", "create", NAMESPACE)}
    assert asked.get("Deployment", "gridshift-actions")["spec"]["strategy"]["type"] == "RollingUpdate"
