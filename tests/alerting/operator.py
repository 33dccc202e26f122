"""An AlertmanagerConfig merged into an Alertmanager configuration as prometheus-operator does it.

Source: prometheus-operator/prometheus-operator pkg/alertmanager/amcfg.go at commit
6adcebc5076c34f4f55f8f5f7b1e528929373ac7 (`ConfigBuilder.AddAlertmanagerConfigs`, `convertRoute`,
`convertReceiver`, `convertWebhookConfig`, `convertHTTPConfig`, `makeNamespacedString`,
`getEnforcer`/`namespaceEnforcer.processRoute`, `continueToNextRoute`) and
pkg/apis/monitoring/v1alpha1/alertmanager_config_types.go (`Matcher.String`, `openMetricsEscape`),
for Alertmanager >= 0.22 (matchers as strings) and the default matcher strategy OnNamespace:

- the AlertmanagerConfig's route becomes the FIRST child of the top-level route, with
  `continue: true` whatever it said, and a matcher `namespace="<its namespace>"` appended;
- receiver names (in the route and the receivers) become `<namespace>/<name>/<receiver>`;
- a webhook's `authorization.credentials` Secret key becomes inline `credentials`.

Only what the chart's AlertmanagerConfig uses is translated; anything else is refused by name,
so the translation never silently drops a field.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

SecretLookup = Callable[[str, str, str], str]  # (namespace, secret name, key) -> value

ROUTE_FIELDS = {"receiver", "matchers", "groupBy", "groupWait", "groupInterval", "repeatInterval", "continue", "routes"}
WEBHOOK_FIELDS = {"url", "sendResolved", "maxAlerts", "httpConfig"}


class Untranslatable(ValueError):
    """The AlertmanagerConfig uses a field this translation does not cover."""


def merge(base: Mapping[str, Any], amconfig: Mapping[str, Any], *, secret: SecretLookup) -> dict[str, Any]:
    namespace, name = amconfig["metadata"]["namespace"], amconfig["metadata"]["name"]
    spec = amconfig["spec"]
    unknown = set(spec) - {"route", "receivers"}
    if unknown:
        raise Untranslatable(f"spec fields not translated: {sorted(unknown)}")
    config = copy.deepcopy(dict(base))
    route = _route(spec["route"], namespace, name)
    route["matchers"] = [*route.get("matchers", []), _matcher("namespace", "=", namespace)]  # OnNamespace
    route["continue"] = True  # continueToNextRoute
    config["route"]["routes"] = [route, *config["route"].get("routes", [])]
    config["receivers"] = [*config.get("receivers", []),
                           *(_receiver(r, namespace, name, secret) for r in spec.get("receivers", []))]
    return config


def _namespaced(value: str, namespace: str, name: str) -> str:
    return f"{namespace}/{name}/{value}" if value else ""


def _matcher(label: str, match_type: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return f'{label}{match_type}"{escaped}"'


def _route(route: Mapping[str, Any], namespace: str, name: str) -> dict[str, Any]:
    unknown = set(route) - ROUTE_FIELDS
    if unknown:
        raise Untranslatable(f"route fields not translated: {sorted(unknown)}")
    out: dict[str, Any] = {"receiver": _namespaced(route["receiver"], namespace, name)}
    for source, target in (("groupBy", "group_by"), ("groupWait", "group_wait"),
                           ("groupInterval", "group_interval"), ("repeatInterval", "repeat_interval")):
        if route.get(source):
            out[target] = route[source]
    out["continue"] = bool(route.get("continue", False))
    matchers = route.get("matchers", [])
    if any("matchType" not in m for m in matchers):
        raise Untranslatable("matchers without matchType (the deprecated `regex` form) are not translated")
    if matchers:
        out["matchers"] = [_matcher(m["name"], m["matchType"], m["value"]) for m in matchers]
    if route.get("routes"):
        out["routes"] = [_route(child, namespace, name) for child in route["routes"]]
    return out


def _receiver(receiver: Mapping[str, Any], namespace: str, name: str, secret: SecretLookup) -> dict[str, Any]:
    unknown = set(receiver) - {"name", "webhookConfigs"}
    if unknown:
        raise Untranslatable(f"receiver fields not translated: {sorted(unknown)}")
    out: dict[str, Any] = {"name": _namespaced(receiver["name"], namespace, name)}
    if receiver.get("webhookConfigs"):
        out["webhook_configs"] = [_webhook(w, namespace, secret) for w in receiver["webhookConfigs"]]
    return out


def _webhook(webhook: Mapping[str, Any], namespace: str, secret: SecretLookup) -> dict[str, Any]:
    unknown = set(webhook) - WEBHOOK_FIELDS
    if unknown:
        raise Untranslatable(f"webhook fields not translated: {sorted(unknown)}")
    out: dict[str, Any] = {"url": webhook["url"]}
    if "sendResolved" in webhook:
        out["send_resolved"] = webhook["sendResolved"]
    if webhook.get("maxAlerts", 0) > 0:
        out["max_alerts"] = webhook["maxAlerts"]
    http = webhook.get("httpConfig")
    if http:
        if set(http) != {"authorization"}:
            raise Untranslatable(f"httpConfig fields not translated: {sorted(set(http) - {'authorization'})}")
        reference = http["authorization"]["credentials"]
        credentials = secret(namespace, reference["name"], reference["key"])
        if credentials:  # the operator leaves authorization out when the Secret's value is empty
            out["http_config"] = {"authorization": {"type": http["authorization"].get("type") or "Bearer",
                                                    "credentials": credentials}}
    return out
