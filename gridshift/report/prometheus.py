"""Reads for the report over HTTP: Prometheus's query API, and the action service's decision log.

Every query asked is recorded (expression, kind, series and points returned), so the report can
say what was measured and how. Failures are one exception type each, with a message that names
the URL and never echoes a response body at length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from gridshift.report.series import Series
from gridshift.report.timerange import TimeRange, iso


class ReadError(Exception):
    """Prometheus (or the action service) answered, but not with what was asked."""


class Unreachable(ReadError):
    """No answer at all: connection refused, a name that does not resolve, a timeout."""


@dataclass(frozen=True)
class Asked:
    expr: str
    kind: str  # "range" or "instant"
    series: int
    points: int


@dataclass
class Prometheus:
    url: str
    timeout_seconds: float = 30.0
    asked: list[Asked] = field(default_factory=list)

    def range(self, expr: str, span: TimeRange) -> list[Series]:
        data = self._get("query_range", {"query": expr, "start": span.start, "end": span.end, "step": span.step})
        found = [Series(item["metric"], tuple((float(t), float(v)) for t, v in item["values"])) for item in data]
        self.asked.append(Asked(expr, "range", len(found), sum(len(s.points) for s in found)))
        return found

    def instant(self, expr: str, at: float) -> list[Series]:
        data = self._get("query", {"query": expr, "time": at})
        found = [Series(item["metric"], ((float(item["value"][0]), float(item["value"][1])),)) for item in data]
        self.asked.append(Asked(expr, "instant", len(found), len(found)))
        return found

    def _get(self, endpoint: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        answer = get_json(f"{self.url.rstrip('/')}/api/v1/{endpoint}", params, self.timeout_seconds, "Prometheus")
        if answer.get("status") != "success":
            raise ReadError(f"Prometheus refused {params['query']!r}: {str(answer.get('error', '?'))[:300]}")
        data = answer.get("data") or {}
        if data.get("resultType") not in ("matrix", "vector"):
            raise ReadError(f"Prometheus answered {params['query']!r} with a {data.get('resultType')!r}, not series")
        return list(data.get("result") or [])


def read_decisions(url: str, *, namespace: str, span: TimeRange, timeout_seconds: float = 30.0) -> list[dict[str, Any]]:
    """The action service's recent decisions on `namespace` within the range, newest first.

    The service keeps the most recent ones only (actions.decisions_kept), so older ones are gone."""
    answer = get_json(f"{url.rstrip('/')}/api/v1/decisions", {"namespace": namespace, "limit": 1000},
                      timeout_seconds, "the action service")
    decisions = answer.get("decisions")
    if not isinstance(decisions, list):
        raise ReadError(f"the action service at {url} answered without a `decisions` list")
    first, last = iso(span.start), iso(span.end)
    return [d for d in decisions if isinstance(d, dict) and first <= str(d.get("time", "")) <= last]


def get_json(url: str, params: dict[str, Any], timeout_seconds: float, what: str) -> dict[str, Any]:
    try:
        response = requests.get(url, params=params, timeout=timeout_seconds)
    except requests.Timeout:
        raise Unreachable(f"{what} at {url} did not answer within {timeout_seconds:g} s") from None
    except requests.RequestException as error:
        raise Unreachable(f"cannot reach {what} at {url} ({type(error).__name__}): is the URL right and is it up?") from None
    try:
        answer = response.json()
    except ValueError:
        raise ReadError(f"{what} at {url} answered HTTP {response.status_code}, not JSON: is this {what}?") from None
    if response.status_code >= 400 and not (isinstance(answer, dict) and answer.get("status") == "error"):
        raise ReadError(f"{what} at {url} answered HTTP {response.status_code}")
    if not isinstance(answer, dict):
        raise ReadError(f"{what} at {url} answered JSON that is not an object")
    return answer
