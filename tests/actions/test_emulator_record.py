"""Issue 19 defect 10: kmock 0.8 matched each request to its reaction by scanning every request it
had served before, so the emulator slowed with every request (61 ms a GET after a thousand, 200 ms
after two) and no test could see a large cluster. gridshift/demo/emulator.py now matches in
constant time; `forget_requests()` drops the record for long benchmarks."""

from __future__ import annotations

from kmock._internal import dsl
from kubernetes import client


def test_serving_a_request_does_not_scan_the_requests_served_before(k8s, api, monkeypatch):
    k8s.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    core = client.CoreV1Api(api)
    for _ in range(200):
        core.read_namespace("team-a")
    scanned = {"requests": 0}
    original = dsl.Root.__iter__

    def counting(self):
        for request in original(self):
            scanned["requests"] += 1
            yield request

    monkeypatch.setattr(dsl.Root, "__iter__", counting)
    assert core.read_namespace("team-a").metadata.name == "team-a"
    core.list_namespace()
    assert scanned["requests"] == 0  # kmock alone walks all 200 (and more) for each of the two


def test_reactions_still_see_their_own_requests(k8s, api):
    k8s.inject("GET", "namespaces", status=503, times=1)
    core = client.CoreV1Api(api)
    k8s.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    try:
        core.read_namespace("team-a")
    except client.ApiException as error:
        assert error.status == 503
    else:
        raise AssertionError("the injected fault did not fire")
    assert core.read_namespace("team-a").metadata.name == "team-a"
    assert len([r for r in k8s if r.method.value.upper() == "GET"]) == 2


def test_forgotten_requests_leave_the_emulator_serving(k8s, api):
    core = client.CoreV1Api(api)
    k8s.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    for _ in range(5):
        core.read_namespace("team-a")
    k8s.forget_requests()
    assert list(k8s) == []
    assert core.read_namespace("team-a").metadata.name == "team-a"
    assert len(list(k8s)) == 1
