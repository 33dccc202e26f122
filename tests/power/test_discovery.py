"""Kepler's endpoints and the nodes' zones from the Kubernetes API: the real `kubernetes` client
over HTTP to kmock's emulator, scrapes over HTTP to local Keplers (one loopback address per pod).

Aspects: EndpointSlices of the Service, port by name; one target per node, a not-ready endpoint
kept (and reported when it fails); zone by label, by region table, by default; a node's label
change picked up at the next node refresh, its counters kept under the old zone; API failures
counted and what was known kept; a Service without the named port.
"""

from __future__ import annotations

import kmock
import pytest

from gridshift.exporters.power import names
from gridshift.exporters.power.discover import DiscoveryError, KubeInventory, load_api_client
from tests.power import kepler_text

ENERGY = f"{names.NAMESPACE_ENERGY_JOULES}_total"
# kmock 0.8 loads its resource table with a deprecated importlib call.
pytestmark = pytest.mark.filterwarnings("ignore:read_binary is deprecated:DeprecationWarning")


def endpoint_slice(name: str, port: int, endpoints: list[dict], *, service: str = "kepler", port_name: str = "http") -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": "kepler", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"name": "metrics-tls", "port": 1, "protocol": "TCP"}, {"name": port_name, "port": port, "protocol": "TCP"}],
        "endpoints": endpoints,
    }


def endpoint(node: str, address: str, ready: bool = True, terminating: bool = False) -> dict:
    return {"addresses": [address], "nodeName": node, "conditions": {"ready": ready, "terminating": terminating},
            "targetRef": {"kind": "Pod", "namespace": "kepler", "name": f"kepler-{node}"}}


def node(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


CONFIG = {
    "default_zone": "DE_LU", "region_to_zone": {"eu-west-1": "IE_SEM"},
    "scrape_interval_seconds": 30, "scrape_timeout_seconds": 2, "node_refresh_seconds": 300,
    "kepler": {"namespace": "kepler", "service": "kepler", "discovery_interval_seconds": 60},
}


@pytest.fixture
def cluster(k8s, fake_kepler, dump):
    fake = fake_kepler("node-a", "node-b")
    fake.payload["node-a"] = dump
    fake.payload["node-b"] = dump
    k8s.add(endpoint_slice("kepler-x1", fake.port, [
        endpoint("node-a", fake.addresses["node-a"]),
        endpoint("node-b", fake.addresses["node-b"], ready=False),
        endpoint("node-b", "127.0.0.99", ready=False, terminating=True),  # the pod being replaced
    ]))
    k8s.add(endpoint_slice("other-service", 1, [endpoint("node-c", "127.0.0.98")], service="prometheus"))
    k8s.add(node("node-a", **{"gridshift.io/zone": "FR", "topology.kubernetes.io/region": "eu-west-1"}))
    k8s.add(node("node-b", **{"topology.kubernetes.io/region": "eu-west-1"}))
    k8s.add(node("node-c", **{"topology.kubernetes.io/region": "us-east-1"}))  # no Kepler on it
    return fake


def test_endpoints_and_zones_from_the_api(cluster, k8s, kube_api, make_exporter, dump):
    running = make_exporter(CONFIG, kube_api=kube_api)
    running.cycle()
    assert [(t.node, t.url) for t in running.exporter.refresher.targets] == [
        ("node-a", cluster.url("node-a")), ("node-b", cluster.url("node-b"))]
    assert running.series(names.NODE_ZONE_INFO) == {
        (("node", "node-a"), ("zone", "FR")): 1.0,  # the gridshift.io/zone label wins over the region
        (("node", "node-b"), ("zone", "IE_SEM")): 1.0,  # region through the table
        (("node", "node-c"), ("zone", "DE_LU")): 1.0,  # unmapped region: the default
    }
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-b") == 1  # not ready, but it answers
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-c") is None  # no Kepler endpoint there
    cluster.payload["node-a"] = kepler_text.rescaled(dump, 2)
    running.cycle(30)
    assert running.per_namespace(ENERGY, node="node-a", zone="FR") == pytest.approx(kepler_text.namespace_totals(dump))


def test_a_node_label_change_is_picked_up_and_old_counters_stay(cluster, k8s, kube_api, make_exporter, dump):
    running = make_exporter(CONFIG, kube_api=kube_api)
    running.cycle()
    cluster.payload["node-a"] = kepler_text.rescaled(dump, 2)
    running.cycle(30)
    k8s.add(node("node-a", **{"gridshift.io/zone": "PL"}))
    cluster.payload["node-a"] = kepler_text.rescaled(dump, 3)
    running.cycle(30)  # 60 s: nodes are listed every 300 s, still FR
    assert running.value(names.NODE_ZONE_INFO, node="node-a", zone="FR") == 1
    cluster.payload["node-a"] = kepler_text.rescaled(dump, 4)
    running.cycle(240)  # 300 s: listed again
    assert running.value(names.NODE_ZONE_INFO, node="node-a", zone="PL") == 1
    assert running.value(names.NODE_ZONE_INFO, node="node-a", zone="FR") is None
    per_ns = kepler_text.namespace_totals(dump)
    assert running.per_namespace(ENERGY, node="node-a", zone="FR") == pytest.approx({ns: 2 * j for ns, j in per_ns.items()})
    assert running.per_namespace(ENERGY, node="node-a", zone="PL") == pytest.approx(per_ns)
    assert running.value(names.NAMESPACE_POWER_WATTS, namespace="kernel", node="node-a", zone="PL") == pytest.approx(18107 / 240)


def test_endpoints_are_discovered_again_and_a_failing_one_is_reported(cluster, k8s, kube_api, make_exporter, dump):
    running = make_exporter(CONFIG, kube_api=kube_api)
    running.cycle()
    k8s.add(endpoint_slice("kepler-x1", cluster.port, [
        endpoint("node-a", cluster.addresses["node-a"]), endpoint("node-d", "127.0.0.97", ready=False)]))
    running.cycle(60)
    assert [t.node for t in running.exporter.refresher.targets] == ["node-a", "node-d"]
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-d") == 0
    assert running.value(f"{names.KEPLER_SCRAPE_ERRORS}_total", node="node-d", reason="connection") == 1
    assert running.value(names.KEPLER_SCRAPE_UP, node="node-b") is None  # no longer a target


@pytest.mark.parametrize(("status", "reason"), [(500, "server_error"), (403, "forbidden")])
def test_api_failures_are_counted_and_what_was_known_is_kept(cluster, k8s, kube_api, make_exporter, status, reason):
    running = make_exporter(CONFIG, kube_api=kube_api)
    running.cycle()
    before = running.series(names.NODE_ZONE_INFO)
    k8s.inject("GET", "nodes", status=status)
    k8s.inject("GET", "endpointslices", status=status)
    running.cycle(300)
    kube_errors = f"{names.KUBE_ERRORS}_total"
    assert running.value(kube_errors, resource="nodes", reason=reason) == 1
    assert running.value(kube_errors, resource="endpointslices", reason=reason) == 1
    assert running.series(names.NODE_ZONE_INFO) == before
    assert len(running.exporter.refresher.targets) == 2


def test_an_api_timeout_is_a_timeout(k8s, kube_api):
    k8s.inject("GET", "nodes", delay=2.0)
    with pytest.raises(DiscoveryError) as caught:
        KubeInventory(kube_api, timeout_seconds=0.3).node_labels()
    assert caught.value.reason == "timeout"


def test_a_service_without_the_named_port(k8s, kube_api):
    k8s.add(endpoint_slice("kepler-x1", 9102, [endpoint("node-a", "127.0.0.2")], port_name="metrics"))
    with pytest.raises(DiscoveryError, match="no port named 'http' on the Service") as caught:
        KubeInventory(kube_api, timeout_seconds=2).kepler_targets(
            namespace="kepler", service="kepler", port_name="http", scheme="http", path="/metrics")
    assert caught.value.reason == "no_port"


def test_pods_of_a_node_with_static_pods(k8s, kube_api):
    k8s.add({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "etcd-node-a", "namespace": "kube-system", "uid": "0b5e1c33-0000-4000-8000-000000000001",
        "annotations": {"kubernetes.io/config.mirror": "2f4a6cb4e5f3f9d3c1b0a9e8d7c6b5a4"}},
        "spec": {"nodeName": "node-a", "containers": [{"name": "etcd"}]}})
    assert KubeInventory(kube_api, timeout_seconds=2).pod_namespaces("node-a") == {
        "0b5e1c33-0000-4000-8000-000000000001": "kube-system", "2f4a6cb4e5f3f9d3c1b0a9e8d7c6b5a4": "kube-system"}
    [listing] = k8s[kmock.resource("v1/pods")]
    assert listing.params["fieldSelector"] == "spec.nodeName=node-a"  # the API server keeps the node's pods only


def test_no_cluster_configuration_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(DiscoveryError, match="no in-cluster service account and no usable kubeconfig") as caught:
        load_api_client()
    assert caught.value.reason == "not_configured"
