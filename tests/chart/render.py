"""Render charts/gridshift with the Helm SDK (helm-python-sdk: Helm's Go SDK, no helm binary).

`render(values)` returns a Rendered: the objects (parsed YAML, in template order), the NOTES
text, and lookups by kind and name. Renders are cached per values, so the many tests that look
at the same combination render it once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "gridshift"
RELEASE = "gridshift"
NAMESPACE = "gridshift"

# What every component gets in the "extras" combination: a proxy and a private CA from a ConfigMap,
# a priority class, a spread over zones, and a cloud identity on its ServiceAccount.
CA_BUNDLE = "/etc/ssl/custom/ca.crt"
EXTRAS: dict[str, Any] = {
    "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy.example.com:3128"},
                 {"name": "NO_PROXY", "value": ".svc,.cluster.local"},
                 {"name": "REQUESTS_CA_BUNDLE", "value": CA_BUNDLE}],
    "extraVolumes": [{"name": "ca-bundle", "configMap": {"name": "corporate-ca"}}],
    "extraVolumeMounts": [{"name": "ca-bundle", "mountPath": "/etc/ssl/custom", "readOnly": True}],
    "priorityClassName": "gridshift-high",
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                   "whenUnsatisfiable": "ScheduleAnyway"}],
}
DIGEST = "sha256:" + "0123456789abcdef" * 4

# The value combinations every object-level test runs over: name -> values.
COMBINATIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "existing-secrets": {
        "webhook": {"existingSecret": "my-webhook", "existingSecretKey": "bearer"},
        "entsoe": {"existingSecret": "my-entsoe", "existingSecretKey": "key"},
        "config": {"grid": {"entsoe": {"zones": ["DE_LU", "FR"]}}},
    },
    "tokens-inline": {
        "webhook": {"token": "inline-webhook-token-0123456789"},
        "entsoe": {"apiKey": "inline-entsoe-key"},
        "electricityMaps": {"token": "inline-emaps-token"},
        "config": {"grid": {"entsoe": {"zones": ["DE_LU"]}, "electricitymaps": {"zones": ["DE"]}}},
    },
    "estimator": {"power": {"estimator": {"enabled": True}}},
    "kepler": {"kepler": {"enabled": True}, "power": {"enabled": True}},
    "kepler-external": {
        "power": {"enabled": True},
        "config": {"power": {"kepler": {"namespace": "monitoring-kepler", "service": "kepler-exporter"}}},
        "keplerServiceMonitor": {"namespace": "monitoring-kepler", "selector": {"app.kubernetes.io/name": "kepler-exporter"}},
    },
    "karmada": {"karmada": {"enabled": True, "clusters": {"member-de": "DE_LU", "member-fr": "FR"}}},
    "target-namespaces": {"rbac": {"targetNamespaces": ["team-a", "team-b"]}},
    "network-policy-off": {"networkPolicy": {"enabled": False}},
    "prometheus-operator-off": {"prometheusOperator": {"enabled": False}, "power": {"enabled": True}},
    "everything": {
        "kepler": {"enabled": True}, "power": {"enabled": True},
        "karmada": {"enabled": True, "clusters": {"member-de": "DE_LU"}},
        "prometheusOperator": {"labels": {"release": "kube-prometheus-stack"}},
        "config": {"grid": {"static": {"zones": {"ONPREM": 250}},
                            "thresholds": {"default": {"high": 450, "critical": 600, "low": 150}}},
                   "cluster": {"default_zone": "ONPREM"},
                   "actions": {"alertmanager_url": "http://alertmanager.monitoring.svc:9093", "dry_run": True}},
        "commonLabels": {"team": "platform"},
    },
    "metrics-ports": {
        "power": {"enabled": True},
        "config": {"serving": {"shutdown_grace_seconds": 45, "threads": 8, "request_timeout_seconds": 5},
                   "exporter": {"metrics_port": 9510}, "actions": {"metrics_port": 9610}, "power": {"metrics_port": 9511}},
        "networkPolicy": {"extraFrom": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "grafana"}}}]},
    },
    "ha": {"actions": {"replicas": 2},
           "config": {"actions": {"alertmanager_url": "http://alertmanager.monitoring.svc:9093"}}},
    "extras": {
        "image": {"repository": "registry.example.com/gridshift", "digest": DIGEST},
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/gridshift"}},
        "exporter": EXTRAS, "actions": EXTRAS,
        "power": {**EXTRAS, "enabled": True, "serviceAccount": {"annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/gridshift-power"}}},
    },
}


@dataclass
class Rendered:
    values: Mapping[str, Any]
    manifests: dict[str, str]
    objects: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for path, text in sorted(self.manifests.items()):
            if path.endswith("NOTES.txt"):
                continue
            for document in yaml.safe_load_all(text):
                if document:
                    document.setdefault("__template__", path)
                    self.objects.append(document)

    @property
    def notes(self) -> str:
        return next((text for path, text in self.manifests.items() if path.endswith("NOTES.txt")), "")

    def kinds(self) -> list[str]:
        return sorted({o["kind"] for o in self.objects})

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        names = sorted(o["metadata"]["name"] for o in self.of_kind(kind))
        assert found, f"no {kind} named {name!r}; the {kind} objects rendered: {names}"
        return found[0]

    def has(self, kind: str, name: str) -> bool:
        return any(o["metadata"]["name"] == name for o in self.of_kind(kind))

    def workloads(self) -> Iterator[dict[str, Any]]:
        yield from (o for o in self.objects if o["kind"] in ("Deployment", "DaemonSet"))

    def config(self, component: str) -> dict[str, Any]:
        (configmap,) = [o for o in self.of_kind("ConfigMap") if o["__template__"].endswith("/configmap.yaml")]
        data = configmap["data"]
        assert f"{component}.yaml" in data, f"no {component}.yaml in the config ConfigMap: {sorted(data)}"
        return yaml.safe_load(data[f"{component}.yaml"])


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as it would be sent to the API (without the bookkeeping key added here)."""
    return {key: value for key, value in obj.items() if key != "__template__"}


@lru_cache(maxsize=1)
def chart() -> helm.Chart:
    return helm.Chart.load(str(CHART))


@lru_cache(maxsize=64)
def _render(values_json: str, name: str, namespace: str) -> Rendered:
    values = json.loads(values_json)
    manifests = chart().render(values, name=name, namespace=namespace, is_install=True)
    return Rendered(values=values, manifests=manifests)


def render(values: Mapping[str, Any] | None = None, *, name: str = RELEASE, namespace: str = NAMESPACE) -> Rendered:
    return _render(json.dumps(values or {}, sort_keys=True), name, namespace)
