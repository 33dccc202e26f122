"""Kubernetes API failures by class, chosen once from the status code (never from message text)."""

from __future__ import annotations

import urllib3
from kubernetes.client.exceptions import ApiException

MAX_BODY = 300  # characters of an API error body kept in a message


class KubeError(Exception):
    """Base: `retry` says whether trying again later can succeed."""

    retry = False

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Conflict(KubeError):
    """The object changed since it was read (409, or 422 from a failed resourceVersion test): re-read, re-decide."""

    retry = True


class NotFound(KubeError):
    """The object is gone."""


class Forbidden(KubeError):
    """RBAC does not allow it (401/403): a configuration problem, not retried until the next reconcile."""


class Transient(KubeError):
    """5xx, 429, timeouts, connection failures: the API may answer later."""

    retry = True


class Invalid(KubeError):
    """The API refused the request as invalid (400, 422 without a guard): a bug or an unusual object."""


def classify(error: BaseException, what: str) -> KubeError:
    if isinstance(error, KubeError):
        return error
    if isinstance(error, ApiException):
        status = int(error.status or 0)
        body = (error.body or "")[:MAX_BODY] if isinstance(error.body, str) else ""
        message = f"{what}: HTTP {status} {error.reason or ''} {body}".strip()
        if status in (409, 422):
            return Conflict(message, status)
        if status == 404:
            return NotFound(message, status)
        if status in (401, 403):
            return Forbidden(message, status)
        if status == 429 or status >= 500:
            return Transient(message, status)
        return Invalid(message, status)
    if isinstance(error, (urllib3.exceptions.HTTPError, OSError, TimeoutError)):
        return Transient(f"{what}: {type(error).__name__}")
    raise error
