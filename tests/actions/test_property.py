"""Property tests (hypothesis): whatever the namespaces, annotations and alerts, gridshift never
touches what did not opt in, and never strands what it held.

Covers, for random clusters (namespaces with random valid and invalid gridshift.io/* annotations or
none, protected namespaces annotated too, random Deployments/StatefulSets/CronJobs/Jobs with their own
random annotations, HPAs, nodes in three zones, random intensities for migrate) and random rounds of
notifications (zones, levels including unknown ones, firing/resolved, new episodes, clock jumps past
max-delay), with a reconcile pass after each round:
- no PATCH and no Event ever reaches a namespace that is protected or that neither carries a
  gridshift.io/action / gridshift.io/on-green annotation nor holds a workload that does; the
  resourceVersion of every object there is unchanged;
- a workload with gridshift.io/exclude (any value but "false") is never patched;
- every pass completes (no reconcile error);
- once every alert has resolved, every workload is back as it was (spec and annotations; a migrated
  Job may keep its new affinity) and no gridshift.io/state annotation remains.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gridshift.actions.app import build_action_service
from gridshift.config import build_config
from tests.actions.conftest import TOKEN, Clock, Cluster, alert, payload, resolved
from tests.kube_emulator import make_api_client, running_emulator

ZONES = ("DE_LU", "FR", "PL")
PROTECTED = ("kube-system", "kube-public", "gridshift-system")
NAMESPACES = ("ns-a", "ns-b", "ns-c", "ns-d", "ns-e", "ns-f", *PROTECTED)
STARTS = ("2026-11-25T06:00:00Z", "2026-11-25T07:30:00Z", "2026-11-25T08:45:00Z")

VALUES: dict[str, list[str]] = {
    "action": ["pause", "scale-down", "migrate", "none", "", "PAUSE", "sleep", " pause "],
    "level": ["high", "critical", "low", "", "severe"],
    "min-replicas": ["0", "1", "2", "-1", "x"],
    "scale-factor": ["0.5", "0.3", "0.99", "2", "0", "abc"],
    "max-delay": ["1h", "90m", "2d", "forever", "0s"],
    "zone": [*ZONES, "XX", ""],
    "on-green": ["scale-up", "yes"],
    "max-replicas": ["5", "12", "0", "many"],
    "fallback": ["pause", "scale-down", "none", "delete"],
    "interruptible": ["false", "true", "maybe"],
}
WORKLOAD_VALUES = {**{k: v for k, v in VALUES.items() if k != "zone"}, "exclude": ["true", "false", ""]}


def annotations(values: dict[str, list[str]]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={f"gridshift.io/{k}": st.sampled_from(v) for k, v in values.items()})


VALID = {
    "level": ["high", "critical"], "min-replicas": ["0", "1", "2"], "scale-factor": ["0.5", "0.3"],
    "max-delay": ["1h", "2d"], "fallback": ["pause", "scale-down", "none"], "interruptible": ["false", "true"],
}
valid_namespace = st.fixed_dictionaries(
    {"gridshift.io/action": st.sampled_from(["pause", "scale-down", "migrate"]), "gridshift.io/zone": st.sampled_from(ZONES)},
    optional={f"gridshift.io/{k}": st.sampled_from(v) for k, v in VALID.items()},
)
on_green_namespace = st.fixed_dictionaries({"gridshift.io/on-green": st.just("scale-up"),
                                            "gridshift.io/max-replicas": st.sampled_from(["5", "12"]),
                                            "gridshift.io/zone": st.sampled_from(ZONES)},
                                           optional={"gridshift.io/action": st.sampled_from(["pause", "scale-down"])})
workload_annotations = st.one_of(st.just({}), st.just({}), st.just({}), annotations(WORKLOAD_VALUES),
                                 st.fixed_dictionaries({}, optional={"gridshift.io/action": st.sampled_from(
                                     ["pause", "scale-down", "none"]), "gridshift.io/exclude": st.sampled_from(["true", "false"])}))

workload = st.fixed_dictionaries({
    "kind": st.sampled_from(["Deployment", "StatefulSet", "CronJob", "Job"]),
    "replicas": st.sampled_from([3, 5, 2, 8, 1, 0]),
    "annotations": workload_annotations,
    "hpa": st.sampled_from([False, False, True]),
    "job_done": st.sampled_from([False, False, True]),
})

namespace = st.fixed_dictionaries({
    "annotations": st.one_of(valid_namespace, on_green_namespace, valid_namespace, annotations(VALUES), st.just({})),
    "workloads": st.lists(workload, min_size=1, max_size=4),
    "pods_in": st.sampled_from([None, *ZONES]),
})

def notification(zones: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "zone": st.sampled_from([*zones, *ZONES, "NL"]),
        "level": st.sampled_from(["high", "critical", "high", "critical", "low", "medium", None]),
        "starts": st.sampled_from(STARTS),
        "firing": st.sampled_from([True, True, False]),
    })


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, Any]:
    namespaces = draw(st.dictionaries(st.sampled_from(NAMESPACES), namespace, min_size=2, max_size=6))
    # alerts mostly for the zones the namespaces draw from, so that something happens
    zones = sorted({ns["annotations"].get("gridshift.io/zone", "") for ns in namespaces.values()} & set(ZONES)) or list(ZONES)
    rounds = draw(st.lists(st.fixed_dictionaries({
        "notifications": st.lists(notification(zones), min_size=1, max_size=4),
        "advance_hours": st.sampled_from([0, 0.5, 3, 30]),
    }), min_size=1, max_size=3))
    intensity = draw(st.fixed_dictionaries({zone: st.integers(20, 800) for zone in ZONES}))
    return {"namespaces": namespaces, "rounds": rounds, "intensity": intensity}


def build(cluster: Cluster, spec: dict[str, Any]) -> tuple[set[str], dict[tuple[str, str, str], dict[str, Any]], set[tuple]]:
    """Create the cluster; return the namespaces that opted in, every workload as created, and the excluded ones."""
    for name, zone in (("de-1", "DE_LU"), ("fr-1", "FR"), ("pl-1", "PL")):
        cluster.node(name, zone=zone)
    opted: set[str] = set()
    created: dict[tuple[str, str, str], dict[str, Any]] = {}
    excluded: set[tuple[str, str, str]] = set()
    for ns_name, ns in spec["namespaces"].items():
        cluster.namespace(ns_name, ns["annotations"])
        keys = {"gridshift.io/action", "gridshift.io/on-green"}
        if keys & set(ns["annotations"]) or any(keys & set(w["annotations"]) for w in ns["workloads"]):
            opted.add(ns_name)
        if ns["pods_in"]:
            cluster.pod(ns_name, "pod-0", {"DE_LU": "de-1", "FR": "fr-1", "PL": "pl-1"}[ns["pods_in"]])
        for index, w in enumerate(ns["workloads"]):
            kind, name = w["kind"], f"{w['kind'].lower()}-{index}"
            if kind in ("Deployment", "StatefulSet"):
                obj = getattr(cluster, kind.lower())(ns_name, name, replicas=w["replicas"], annotations=w["annotations"])
                if w["hpa"] and kind == "Deployment":
                    hpa = cluster.hpa(ns_name, f"{name}-hpa", name, min_replicas=max(1, w["replicas"] // 2),
                                      max_replicas=max(2, w["replicas"] * 2))
                    created[("HorizontalPodAutoscaler", ns_name, f"{name}-hpa")] = hpa
            elif kind == "CronJob":
                obj = cluster.cronjob(ns_name, name, suspend=bool(w["replicas"] % 3 == 0), annotations=w["annotations"])
            else:
                status = {"succeeded": 2, "completionTime": "2026-11-25T05:00:00Z"} if w["job_done"] else None
                obj = cluster.job(ns_name, name, suspend=bool(w["replicas"] % 4 == 0), parallelism=max(1, w["replicas"]),
                                  annotations=w["annotations"], status=status)
            created[(kind, ns_name, name)] = obj
            if "gridshift.io/exclude" in w["annotations"] and w["annotations"]["gridshift.io/exclude"] != "false":
                excluded.add((kind, ns_name, name))
    return opted, created, excluded


def without_volatile(obj: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(obj)
    meta = result["metadata"]
    for key in ("resourceVersion", "generation"):
        meta.pop(key, None)
    bookkeeping = ("gridshift.io/released", "gridshift.io/held-seconds")  # what gridshift remembers after a restore
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in bookkeeping}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    if result["kind"] == "Job":
        result["spec"]["template"]["spec"].pop("affinity", None)  # a migrated Job stays where it runs
    return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(spec=scenario())
def test_nothing_outside_the_opted_in_namespaces_is_ever_touched(exporter, spec):
    # A fresh emulator per example (~10 ms): kmock scans its whole request log on every request,
    # so one emulator reused across examples gets slower and slower.
    with running_emulator() as k8s, make_api_client(k8s.base_url) as api:
        patched, allowed = check(Cluster(k8s), api, exporter, spec)
    event("some workload was held" if patched else "nothing was held")  # --hypothesis-show-statistics
    event(f"opted-in namespaces: {len(allowed)}")


def check(cluster: Cluster, api: Any, exporter: Any, spec: dict[str, Any]) -> tuple[set[tuple[str, str]], set[str]]:
    exporter.intensity.clear()
    exporter.intensity.update({zone: float(value) for zone, value in spec["intensity"].items()})
    opted, created, excluded = build(cluster, spec)
    allowed = opted - set(PROTECTED)
    clock = Clock()
    config = build_config({"actions": {"reconcile_seconds": 3600, "request_timeout_seconds": 5, "workers": 2,
                                       "exporter_url": exporter.url,
                                       "protected_namespaces": ["kube-system", "kube-public", "kube-node-lease"]}},
                          env={"GRIDSHIFT_WEBHOOK_TOKEN": TOKEN})
    service = build_action_service(config, api_client=api, clock=clock, release_namespace="gridshift-system")
    client = service.app.test_client()
    mark = cluster.mark()
    fired: dict[str, dict[str, Any]] = {}
    try:
        for round_ in spec["rounds"]:
            alerts = []
            for n in round_["notifications"]:
                firing = alert(n["zone"], n["level"], starts_at=n["starts"])
                ends = STARTS[(STARTS.index(n["starts"]) + 1) % len(STARTS)] if n["starts"] != STARTS[-1] else "2026-11-25T09:30:00Z"
                alerts.append(firing if n["firing"] else resolved(firing, ends_at=ends))  # ends before the next episode
                if n["firing"]:
                    fired[firing["fingerprint"]] = firing
            response = client.post("/api/v1/alerts", json=payload(*alerts), headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code == 200
            clock.advance(round_["advance_hours"] * 3600)
            service.reconciler.run_pass()
            assert service.reconciler.last_error is None

        # every alert resolves (later than any episode began): nothing may stay held
        if fired:
            ends = [resolved(a, ends_at="2026-11-26T00:00:00Z") for a in fired.values()]
            assert client.post("/api/v1/alerts", json=payload(*ends),
                               headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        clock.advance(60)
        service.reconciler.run_pass()
        service.reconciler.run_pass()
        assert service.reconciler.last_error is None
    finally:
        service.reconciler.stop()

    patched = {(r.namespace, r.name) for r in cluster.patches(since=mark)}
    assert {ns for ns, _ in patched} <= allowed, (patched, allowed)
    events = {e["metadata"]["namespace"] for e in cluster.events()}
    assert events <= allowed
    for (kind, ns, name), before in created.items():
        after = cluster.get(kind, ns, name)
        if ns not in allowed:
            assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], (kind, ns, name)
        if (kind, ns, name) in excluded:
            assert (ns, name) not in patched
        assert "gridshift.io/state" not in (after["metadata"].get("annotations") or {}), (kind, ns, name)
        assert without_volatile(after) == without_volatile(before), (kind, ns, name)
    return patched, allowed
