"""Issue 19 item 4: the action service lists once and then watches (actions/kube/cache.py) instead
of listing every namespace and workload each pass. On the emulator with the real client: the cache
follows creates, patches and deletes made through the API; a pass after it synced reads nothing
from the API server; a watch answered 410 Gone lists again; a CRD that is not installed is known
as such; and the service's own writes are in the cache before their watch events."""

from __future__ import annotations

import time

from kubernetes import client

from gridshift.actions import kinds
from gridshift.actions.kube.cache import NAMESPACES, CachedKube, Resource, WatchCache
from gridshift.actions.kube.client import Kube
from tests.actions.conftest import alert

DEPLOYMENTS = Resource.of(kinds.DEPLOYMENT)
HIGH = alert("DE_LU", "high")


def eventually(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the cache did not follow in time"
        time.sleep(0.02)


def started(api, **kwargs) -> WatchCache:
    cache = WatchCache(Kube(api, timeout_seconds=5), (kinds.DEPLOYMENT, kinds.SCALED_OBJECT), **kwargs).start()
    assert cache.wait_synced(10)
    return cache


def names(cache: WatchCache, resource: Resource = DEPLOYMENTS) -> set[str]:
    informer = cache.informer(resource)
    return {obj["metadata"]["name"] for obj in informer.items()} if informer else set()


def deployment(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "team-a"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": "x"}]}}}}


def test_the_cache_lists_once_then_follows_the_api(api, cluster):
    cluster.namespace("team-a")
    cluster.deployment("team-a", "before")
    cache = started(api)
    try:
        assert names(cache) == {"before"} and "team-a" in names(cache, NAMESPACES)
        apps = client.AppsV1Api(api)
        apps.create_namespaced_deployment("team-a", deployment("after"))
        eventually(lambda: names(cache) == {"before", "after"})
        apps.patch_namespaced_deployment("after", "team-a", {"spec": {"replicas": 5}})
        eventually(lambda: {o["metadata"]["name"]: o["spec"]["replicas"] for o in cache.informer(DEPLOYMENTS).items()}
                   .get("after") == 5)
        apps.delete_namespaced_deployment("before", "team-a")
        eventually(lambda: names(cache) == {"after"})
        assert cache.informer(DEPLOYMENTS).lists == 1  # one list, the rest by watch
    finally:
        cache.stop()


def test_managed_fields_are_not_kept(api, cluster):
    cluster.namespace("team-a")
    k8s_object = cluster.deployment("team-a", "web")
    managed = [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    cluster.set("Deployment", "team-a", "web", lambda obj: obj["metadata"].update(managedFields=managed))
    cache = started(api)
    try:
        [cached] = cache.informer(DEPLOYMENTS).items("team-a")
        assert "managedFields" not in cached["metadata"] and cached["metadata"]["name"] == k8s_object["metadata"]["name"]
    finally:
        cache.stop()


def test_a_crd_that_is_not_installed_is_known_and_listed_as_a_404(api):
    cache = started(api)
    try:
        informer = cache.informer(Resource.of(kinds.SCALED_OBJECT))
        assert informer is not None and not informer.installed
        from gridshift.actions.kube.client import list_if_installed

        assert list_if_installed(CachedKube(Kube(api, timeout_seconds=5), cache), kinds.SCALED_OBJECT) == []
    finally:
        cache.stop()


def test_a_watch_answered_410_gone_lists_again(api, cluster, k8s):
    import threading

    from gridshift.actions.kube.cache import Informer

    cluster.namespace("team-a")
    cluster.deployment("team-a", "web")
    informer = Informer(Kube(api, timeout_seconds=5), DEPLOYMENTS, resync_seconds=600, watch_seconds=5)
    informer._list()
    k8s.inject("GET", "deployments", status=410, times=1)  # the watch from that version: too old
    informer._watch_until_resync(threading.Event())  # returns: list again, no error
    assert informer._apply({"type": "ERROR", "object": {"code": 410, "message": "too old resource version"}}) is False
    assert informer._apply({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "99999"}}})
    assert informer._version == "99999" and {o["metadata"]["name"] for o in informer.items()} == {"web"}


def test_a_pass_after_the_cache_synced_reads_nothing_from_the_api_server(make_service, cluster):
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "web", replicas=3)
    service = make_service({"watch_cache": True})
    cache = service.service.cache
    cache.start()
    try:
        assert cache.wait_synced(10)
        mark = cluster.mark()
        service.reconcile()
        reads = [r for r in cluster.requests(mark) if r.method.value.upper() == "GET" and "watch" not in r.params]
        assert reads == []  # (a watch an informer opens meanwhile is not a read of the pass)
        service.notify(HIGH)
        service.reconcile()
        assert cluster.get("Deployment", "team-a", "web")["spec"]["replicas"] == 0
        [held] = cache.informer(DEPLOYMENTS).items("team-a")  # its own write, in the cache at once
        assert "gridshift.io/state" in held["metadata"]["annotations"]
        service.reconcile()  # keeps the hold from the cache: no second write
        assert len(cluster.patches(name="web")) == 1
    finally:
        cache.stop()


def test_the_cache_is_not_used_with_target_namespaces(make_service, cluster):
    cluster.namespace("team-a")
    service = make_service({"watch_cache": True, "target_namespaces": ["team-a"]})
    assert service.service.cache is None
