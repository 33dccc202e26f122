"""JSON over HTTP for the intensity providers: one GET, failures classified, no secret shown.

Two halves, kept apart so the providers' `parse_*` functions stay pure:

- `JsonApi.get` is the transport. It returns the decoded JSON document or raises FetchError,
  classified by `errors.http_error`, as the ENTSO-E source is: 401/403 unauthorized, 429
  rate_limited and 5xx server_error (both with Retry-After, in seconds or as an HTTP-date),
  other 4xx client_error (with the upstream's own error message when its body carries one),
  timeout, connection, and malformed for a body that is not JSON. One request per call: the
  refresher owns retries and backoff.
- `Reader` reads fields of a decoded document. Anything missing, of the wrong type, not a
  time, or not a non-negative finite number is FetchError("malformed") naming the field.

Messages name the upstream and what was asked; text taken from a response is shortened and
has the secret redacted, and a request exception's own text (which carries the URL) is never
used.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from gridshift import __version__
from gridshift.exporters.grid.errors import FetchError, http_error
from gridshift.exporters.grid.sources.bounded import AnswerTooLarge, BoundedSession
from gridshift.secrets import Secret, redact

USER_AGENT = f"gridshift/{__version__}"
MAX_MESSAGE = 200  # characters of an upstream error message kept in ours

# Given the status and the upstream's error message, a provider-specific FetchError or None.
StatusRule = Callable[[int, str | None], FetchError | None]


@dataclass
class JsonApi:
    upstream: str  # how messages name it: "the GB Carbon Intensity API", "Electricity Maps"
    timeout_seconds: float
    secret: Secret | None = None  # redacted from every message
    secret_header: str = ""  # the request header that carries the secret (added per request, never stored)
    unauthorized_hint: str = ""  # what to check when the request is refused
    session: requests.Session | None = None  # one shared session; default: one per thread
    clock: Callable[[], float] = time.time  # for a Retry-After given as an HTTP-date
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)

    def get(self, url: str, *, what: str, params: Mapping[str, str] | None = None,
            rule: StatusRule | None = None) -> object:
        """GET `url` and decode its JSON; `what` says what was asked ("intensity of GB")."""
        headers = {"User-Agent": USER_AGENT}
        if self.secret_header and self.secret:
            headers[self.secret_header] = self.secret.value
        try:
            response = self._session().get(url, params=params, headers=headers, timeout=self.timeout_seconds)
        except requests.Timeout:
            raise FetchError("timeout", f"{self.upstream} did not answer the request for the {what} in time") from None
        except AnswerTooLarge as error:
            raise FetchError("malformed", f"{self.upstream}'s answer to the request for the {what} was not read: {error}") from None
        except requests.RequestException as error:
            raise FetchError("connection", f"cannot reach {self.upstream} for the {what}: {type(error).__name__}") from None
        if response.status_code >= 400:
            raise self._status_error(response, what, rule)
        try:
            return json.loads(response.text)
        except ValueError:
            raise FetchError("malformed", f"{self.upstream} answered the request for the {what} with a body "
                                          f"that is not JSON ({len(response.content)} bytes)") from None

    def _session(self) -> requests.Session:
        if self.session is not None:
            return self.session
        session = getattr(self._local, "session", None)
        if session is None:  # requests.Session is not promised thread-safe: one per refresher worker
            session = self._local.session = BoundedSession()
        return session

    def _status_error(self, response: requests.Response, what: str, rule: StatusRule | None) -> FetchError:
        status = response.status_code
        message = self._upstream_message(response)
        special = rule(status, message) if rule is not None else None
        if special is not None:
            return special
        return http_error(
            status, where=f"{self.upstream} answered HTTP {status} to the request for the {what}",
            refused=f"the request was refused ({self.unauthorized_hint})", upstream_message=message,
            headers=response.headers, now=self.clock(),
        )

    def _upstream_message(self, response: requests.Response) -> str | None:
        text = error_message(response.text)
        if text is None:
            return None
        text = redact(" ".join(text.split()), self.secret)
        return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def error_message(body: str) -> str | None:
    """The message of a JSON error body: {"error": {"message": m}}, {"error": m} or {"message": m}."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    message = error if isinstance(error, str) else document.get("message")
    return message if isinstance(message, str) and message.strip() else None


@dataclass(frozen=True)
class Reader:
    """Reads one decoded JSON document; every surprise is FetchError("malformed") naming the field."""

    upstream: str
    zone: str

    def malformed(self, problem: str) -> FetchError:
        return FetchError("malformed", f"{self.upstream} answered for {self.zone} with {problem}")

    def field(self, obj: object, key: str, path: str) -> object:
        """obj[key]; `path` names obj in the document ("" for the document itself)."""
        where = f"{path}.{key}" if path else key
        if not isinstance(obj, dict):
            what = f"`{path}` not an object" if path else "a document that is not a JSON object"
            raise self.malformed(f"{what} (looking for `{where}`)")
        if key not in obj:
            raise self.malformed(f"`{where}` missing")
        return obj[key]

    def mapping(self, value: object, path: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.malformed(f"`{path}` not an object")
        return value

    def items(self, value: object, path: str) -> list[object]:
        if not isinstance(value, list):
            raise self.malformed(f"`{path}` not a list")
        return value

    def intensity(self, value: object, path: str) -> float:
        """A carbon intensity: a finite number >= 0."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.malformed(f"`{path}` = {_show(value)}, not a number")
        if value < 0:
            raise self.malformed(f"`{path}` = {value}, a negative intensity")
        return float(value)

    def moment(self, value: object, path: str) -> int:
        """An ISO 8601 time ("2023-07-04T23:30Z", "2019-05-21T00:00:00.000Z") as epoch seconds; UTC if no offset."""
        if not isinstance(value, str):
            raise self.malformed(f"`{path}` = {_show(value)}, not a time")
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.malformed(f"`{path}` = {_show(value)}, not a time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp())


def _show(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:40] + "..."
