"""Fixtures for the action service tests.

- `k8s` / `api`: kmock's KubernetesEmulator (tests/kube_emulator.py) on a loopback port, and the
  real `kubernetes` client (v37) pointed at it.
- `cluster`: builds plain-dict Namespaces, Deployments, StatefulSets, CronJobs, Jobs, HPAs, Nodes,
  Pods and (after `cluster.keda()` installs the CRD) KEDA ScaledObjects that the client accepts, reads objects back, lists Events and the PATCH requests made.
- `make_service` / `service`: the ActionService exactly as `gridshift actions` builds it
  (build_config -> build_action_service) with a controllable clock; `Service.post()` sends a
  webhook through Flask's test client, `Service.reconcile()` runs one pass synchronously.
- `alertmanager` / `exporter`: a fake Alertmanager API v2 (GET /api/v2/alerts) and a fake grid
  exporter JSON API (GET /api/v1/intensity?zone=Z), both on pytest-httpserver.
- `alert()` / `payload()`: Alertmanager webhook payloads (version 4) as Alertmanager sends them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gridshift.actions.app import ActionService, build_action_service
from gridshift.config import build_config
from tests.kube_emulator import Emulator, make_api_client, running_emulator

TOKEN = "test-webhook-token-3f9a1c7e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc).timestamp()
NOT_SET = "0001-01-01T00:00:00Z"

RESOURCES = {
    "Namespace": "v1/namespaces",
    "Node": "v1/nodes",
    "Pod": "v1/pods",
    "Deployment": "apps/v1/deployments",
    "StatefulSet": "apps/v1/statefulsets",
    "CronJob": "batch/v1/cronjobs",
    "Job": "batch/v1/jobs",
    "HorizontalPodAutoscaler": "autoscaling/v2/horizontalpodautoscalers",
    "ScaledObject": "keda.sh/v1alpha1/scaledobjects",  # a CRD: served only after Cluster.keda()
}
PLURALS = {resource.rsplit("/", 1)[1]: kind for kind, resource in RESOURCES.items()}

ALERT_NAMES = {"high": ("GridCarbonIntensityHigh", "warning"), "critical": ("GridCarbonIntensityCritical", "critical"),
               "low": ("GridCarbonIntensityLow", "none"), "window": ("GridCarbonGreenerWindowAhead", "none")}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- time -------------------------------------------------------------------------------------

class Clock:
    """The service's clock: stands still unless a test moves it."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


# --- alerts -----------------------------------------------------------------------------------

def fingerprint_of(labels: Mapping[str, str]) -> str:
    """16 hex digits from the label set, as Alertmanager's fingerprints look."""
    return hashlib.sha256(json.dumps(dict(sorted(labels.items()))).encode()).hexdigest()[:16]


def alert(zone: str | None = "DE_LU", level: str | None = "high", *, status: str = "firing",
          starts_at: str = "2026-11-25T08:55:00Z", ends_at: str | None = None, fingerprint: str | None = None,
          name: str | None = None, **extra_labels: str) -> dict[str, Any]:
    """One alert as Alertmanager's webhook sends it (firing: endsAt is Go's zero time)."""
    alertname, severity = ALERT_NAMES.get(level or "", ("GridCarbonDataStale", "warning"))
    labels: dict[str, str] = {"alertname": name or alertname, "severity": severity, **extra_labels}
    if zone is not None:
        labels["zone"] = zone
    if level is not None:
        labels["level"] = level
    if status == "resolved" and ends_at is None:
        ends_at = "2026-11-25T10:30:00Z"
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": f"Grid carbon intensity in {zone} is {level}",
                        "description": "gCO2eq/kWh above the zone's threshold for 10m"},
        "startsAt": starts_at,
        "endsAt": ends_at or NOT_SET,
        "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=gridshift_carbon_intensity_grams_per_kwh&g0.tab=1",
        "fingerprint": fingerprint or fingerprint_of(labels),
    }


def resolved(firing: Mapping[str, Any], ends_at: str = "2026-11-25T10:30:00Z") -> dict[str, Any]:
    """The resolved notification of a firing alert (same fingerprint and startsAt)."""
    return {**copy.deepcopy(dict(firing)), "status": "resolved", "endsAt": ends_at}


def payload(*alerts: Mapping[str, Any], receiver: str = "gridshift") -> dict[str, Any]:
    """An Alertmanager webhook body, version 4, grouping the alerts given."""
    alerts_list = [copy.deepcopy(dict(a)) if isinstance(a, Mapping) else a for a in alerts]  # hostile tests pass junk
    label_sets = [a["labels"] for a in alerts_list if isinstance(a, dict) and isinstance(a.get("labels"), dict)] or [{}]
    common = {k: v for k, v in label_sets[0].items() if all(ls.get(k) == v for ls in label_sets)}
    group = {k: common[k] for k in ("alertname", "zone") if isinstance(common.get(k), str)}
    group_key = "{}:{" + ", ".join(f'{k}="{v}"' for k, v in sorted(group.items())) + "}"
    firing = any(isinstance(a, dict) and a.get("status") == "firing" for a in alerts_list)
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.monitoring:9093",
        "alerts": alerts_list,
    }


# --- Kubernetes -------------------------------------------------------------------------------

@pytest.fixture
def k8s() -> Iterator[Emulator]:
    with running_emulator() as emu:
        yield emu


@pytest.fixture
def api(k8s: Emulator) -> Iterator[Any]:
    with make_api_client(k8s.base_url) as api_client:
        yield api_client


def _meta(name: str, namespace: str | None, annotations: Mapping[str, str] | None,
          labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    if labels:
        meta["labels"] = dict(labels)
    return meta


def _pod_template(name: str, affinity: Mapping[str, Any] | None = None, restart: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": f"registry.example.com/{name}:1.0"}]}
    if affinity is not None:
        spec["affinity"] = copy.deepcopy(dict(affinity))
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"labels": {"app": name}}, "spec": spec}


class Cluster:
    """Builds objects in the emulator and reads back what the service did."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    # builders: every builder stores the object and returns it as stored (with its resourceVersion)
    def namespace(self, name: str, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self.emu.add({"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name, None, annotations)})

    def node(self, name: str, zone: str | None = None, region: str | None = None) -> dict[str, Any]:
        labels = {"kubernetes.io/hostname": name}
        if zone:
            labels["gridshift.io/zone"] = zone
        if region:
            labels["topology.kubernetes.io/region"] = region
        return self.emu.add({"apiVersion": "v1", "kind": "Node", "metadata": _meta(name, None, None, labels)})

    def pod(self, namespace: str, name: str, node: str) -> dict[str, Any]:
        return self.emu.add({"apiVersion": "v1", "kind": "Pod", "metadata": _meta(name, namespace, None, {"app": name}),
                             "spec": {"nodeName": node, "containers": [{"name": "main", "image": "x"}]},
                             "status": {"phase": "Running"}})

    def deployment(self, namespace: str, name: str, replicas: int | None = 3, annotations: Mapping[str, str] | None = None,
                   affinity: Mapping[str, Any] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "template": _pod_template(name, affinity)}
        if replicas is not None:
            spec["replicas"] = replicas
        return self.emu.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, namespace, annotations),
                             "spec": spec, "status": {"replicas": replicas or 0}})

    def statefulset(self, namespace: str, name: str, replicas: int = 3, annotations: Mapping[str, str] | None = None,
                    affinity: Mapping[str, Any] | None = None) -> dict[str, Any]:
        spec = {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                "template": _pod_template(name, affinity)}
        return self.emu.add({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(name, namespace, annotations),
                             "spec": spec})

    def cronjob(self, namespace: str, name: str, suspend: bool | None = False, annotations: Mapping[str, str] | None = None,
                affinity: Mapping[str, Any] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"schedule": "*/15 * * * *",
                                "jobTemplate": {"spec": {"template": _pod_template(name, affinity, "OnFailure")}}}
        if suspend is not None:
            spec["suspend"] = suspend
        return self.emu.add({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(name, namespace, annotations),
                             "spec": spec})

    def job(self, namespace: str, name: str, *, suspend: bool | None = False, parallelism: int = 2,
            annotations: Mapping[str, str] | None = None, status: Mapping[str, Any] | None = None,
            affinity: Mapping[str, Any] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"parallelism": parallelism, "completions": 4, "backoffLimit": 3,
                                "template": _pod_template(name, affinity, "Never")}
        if suspend is not None:
            spec["suspend"] = suspend
        return self.emu.add({"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(name, namespace, annotations),
                             "spec": spec, "status": dict(status if status is not None else {"active": parallelism})})

    def hpa(self, namespace: str, name: str, target: str, *, target_kind: str = "Deployment", min_replicas: int | None = 2,
            max_replicas: int = 10) -> dict[str, Any]:
        spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target},
                                "maxReplicas": max_replicas,
                                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                                    "type": "Utilization", "averageUtilization": 70}}}]}
        if min_replicas is not None:
            spec["minReplicas"] = min_replicas
        return self.emu.add({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                             "metadata": _meta(name, namespace, None), "spec": spec})

    def keda(self) -> None:
        """Install KEDA's ScaledObject CRD; without it a list of ScaledObjects is a 404, as on a cluster without KEDA."""
        self.emu.resources[RESOURCES["ScaledObject"]] = {}

    def scaled_object(self, namespace: str, name: str, target: str | None, *, target_kind: str | None = None,
                      annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A ScaledObject as KEDA's docs write one; `target` None: no scaleTargetRef at all."""
        spec: dict[str, Any] = {"minReplicaCount": 1, "maxReplicaCount": 10, "pollingInterval": 30,
                                "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}]}
        if target is not None:
            spec["scaleTargetRef"] = {"name": target, **({"kind": target_kind} if target_kind else {})}
        obj = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": _meta(name, namespace, annotations),
               "spec": spec}
        self.emu._stamp_new(obj)
        self.emu.objects[RESOURCES["ScaledObject"], namespace, name] = obj
        return self.get("ScaledObject", namespace, name)

    # reading back
    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        return self.emu.state(RESOURCES[kind], namespace, name)

    def annotations(self, kind: str, namespace: str | None, name: str) -> dict[str, str]:
        return self.get(kind, namespace, name)["metadata"].get("annotations") or {}

    def state(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        text = self.annotations(kind, namespace, name).get("gridshift.io/state")
        return json.loads(text) if text is not None else None

    def rv(self, kind: str, namespace: str | None, name: str) -> str:
        return self.get(kind, namespace, name)["metadata"]["resourceVersion"]

    def set(self, kind: str, namespace: str | None, name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """A person's edit (kubectl edit): change the stored object and bump its resourceVersion."""
        obj = self.get(kind, namespace, name)
        change(obj)
        obj["metadata"]["resourceVersion"] = self.emu._next_rv()
        self.emu.objects[RESOURCES[kind], namespace, name].history.append(obj)
        return obj

    def events(self, namespace: str | None = None, name: str | None = None, reason: str | None = None) -> list[dict[str, Any]]:
        found = []
        for (resource, ns, _), obj in list(self.emu.objects.items()):
            if resource.plural != "events" or obj.deleted:
                continue
            event = copy.deepcopy(obj.raw)
            involved = event.get("involvedObject") or {}
            if namespace is not None and ns != namespace:
                continue
            if name is not None and involved.get("name") != name:
                continue
            if reason is not None and event.get("reason") != reason:
                continue
            found.append(event)
        return found

    def requests(self, since: int = 0) -> list[Any]:
        return list(self.emu)[since:]

    def mark(self) -> int:
        """The current position in the request log (pass to patches(since=...))."""
        return len(list(self.emu))

    def patches(self, namespace: str | None = None, name: str | None = None, since: int = 0) -> list[Any]:
        return [r for r in self.requests(since) if r.method.value.upper() == "PATCH"
                and (namespace is None or r.namespace == namespace) and (name is None or r.name == name)]

    def versions(self, kind: str, namespace: str | None, name: str) -> int:
        """How many stored versions the object has (1 = never written since it was added)."""
        return len([v for v in self.emu.objects[RESOURCES[kind], namespace, name].history if v is not None])


@pytest.fixture
def cluster(k8s: Emulator) -> Cluster:
    return Cluster(k8s)


# --- the service ------------------------------------------------------------------------------

class Service:
    """The ActionService plus the ways tests drive it."""

    def __init__(self, service: ActionService) -> None:
        self.service = service
        self.client = service.app.test_client()
        self.reconciler = service.reconciler
        self.registry = service.registry

    def post(self, body: Any, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
        """POST /api/v1/alerts (JSON body unless `data=` is given)."""
        headers = dict(AUTH if headers is None else headers)
        if "data" in kwargs:
            return self.client.post("/api/v1/alerts", headers=headers, **kwargs)
        return self.client.post("/api/v1/alerts", headers=headers, json=body)

    def notify(self, *alerts: Mapping[str, Any]) -> Any:
        response = self.post(payload(*alerts))
        assert response.status_code == 200, response.get_json()
        return response

    def reconcile(self, times: int = 1) -> None:
        for _ in range(times):
            self.reconciler.run_pass()

    def decisions(self, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/decisions", query_string=params)
        assert response.status_code == 200
        return response.get_json()["decisions"]

    def metric(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


class ServiceFactory:
    def __init__(self, api: Any, clock: Clock) -> None:
        self.api, self.clock = api, clock
        self.built: list[Service] = []

    def __call__(self, actions: Mapping[str, Any] | None = None, *, cluster: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, **kwargs: Any) -> Service:
        raw = {"actions": {"reconcile_seconds": 3600, "request_timeout_seconds": 3, "workers": 2, **(actions or {})},
               "cluster": dict(cluster or {})}
        config = build_config(raw, env={"GRIDSHIFT_WEBHOOK_TOKEN": TOKEN} if env is None else env)
        kwargs.setdefault("clock", self.clock)
        service = Service(build_action_service(config, api_client=kwargs.pop("api_client", self.api), **kwargs))
        self.built.append(service)
        return service

    def close(self) -> None:
        for service in self.built:
            service.reconciler.stop()


@pytest.fixture
def make_service(api: Any, clock: Clock) -> Iterator[ServiceFactory]:
    factory = ServiceFactory(api, clock)
    yield factory
    factory.close()


@pytest.fixture
def service(make_service: ServiceFactory) -> Service:
    return make_service()


# --- Alertmanager and the grid exporter -------------------------------------------------------

def base_url(server: HTTPServer) -> str:
    return f"http://{server.host}:{server.port}"


class FakeAlertmanager:
    """GET /api/v2/alerts?active=true: the alerts set with `set_active`, in API v2 shape."""

    def __init__(self, server: HTTPServer) -> None:
        self.url = base_url(server)
        self.active: list[dict[str, Any]] = []
        self.status = 200
        self.calls = 0
        self._lock = threading.Lock()

    def set_active(self, *alerts: Mapping[str, Any]) -> None:
        with self._lock:
            self.active = [self._v2(a) for a in alerts]

    @staticmethod
    def _v2(webhook_alert: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "annotations": dict(webhook_alert.get("annotations") or {}),
            "endsAt": "2026-11-25T12:00:00.000Z",  # API v2: the time it resolves unless Prometheus re-sends it
            "fingerprint": webhook_alert["fingerprint"],
            "receivers": [{"name": "gridshift"}],
            "startsAt": webhook_alert["startsAt"],
            "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
            "updatedAt": "2026-11-25T09:00:00.000Z",
            "generatorURL": webhook_alert.get("generatorURL", ""),
            "labels": dict(webhook_alert["labels"]),
        }

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.calls += 1
            if self.status != 200:
                return Response("alertmanager unavailable", status=self.status, content_type="text/plain")
            return Response(json.dumps(self.active), status=200, content_type="application/json")


class FakeExporter:
    """GET /api/v1/intensity?zone=Z: the current intensity set in `intensity`, 404 for unknown zones.
    GET /api/v1/forecast?zone=Z: the points set in `forecast` (start, P50) in the grid exporter's
    shape (tests/grid/test_api.py checks the action service reads the real exporter's the same),
    404 for a zone without; `forecast_status` makes it answer an error."""

    def __init__(self, server: HTTPServer) -> None:
        self.url = base_url(server)
        self.intensity: dict[str, float] = {}
        self.forecast: dict[str, list[tuple[float, float]]] = {}
        self.forecast_status = 200
        self.forecast_calls = 0

    def handle_forecast(self, request: Request) -> Response:
        self.forecast_calls += 1
        zone = request.args.get("zone", "")
        if self.forecast_status != 200:
            return Response(json.dumps({"error": "exporter failing"}), status=self.forecast_status,
                            content_type="application/json")
        if zone not in self.forecast:
            return Response(json.dumps({"error": f"unknown zone {zone!r}"}), status=404, content_type="application/json")
        points = self.forecast[zone]
        body = [{"location": zone, "source": "forecaster", "generatedAt": iso(points[0][0]), "windowSize": 60,
                 "optimalDataPoints": [{"location": zone, "timestamp": iso(min(points, key=lambda p: p[1])[0]),
                                        "duration": 60, "value": min(v for _, v in points)}],
                 "forecastData": [{"location": zone, "timestamp": iso(start), "duration": 60, "value": value,
                                   "p10": value * 0.9, "p90": value * 1.1} for start, value in points]}]
        return Response(json.dumps(body), status=200, content_type="application/json")

    def handle(self, request: Request) -> Response:
        zone = request.args.get("zone", "")
        if zone not in self.intensity:
            return Response(json.dumps({"error": f"unknown zone {zone}"}), status=404, content_type="application/json")
        body = {"zone": zone, "values": [{"source": "entsoe", "basis": "production", "timestamp": "2026-11-25T08:45:00Z",
                                          "grams_per_kwh": self.intensity[zone], "forecast": False}]}
        return Response(json.dumps(body), status=200, content_type="application/json")


@pytest.fixture
def alertmanager(httpserver: HTTPServer) -> FakeAlertmanager:
    fake = FakeAlertmanager(httpserver)
    httpserver.expect_request("/api/v2/alerts", method="GET").respond_with_handler(fake.handle)
    return fake


@pytest.fixture
def exporter(httpserver: HTTPServer) -> FakeExporter:
    fake = FakeExporter(httpserver)
    httpserver.expect_request("/api/v1/intensity", method="GET").respond_with_handler(fake.handle)
    httpserver.expect_request("/api/v1/forecast", method="GET").respond_with_handler(fake.handle_forecast)
    return fake
