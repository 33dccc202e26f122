"""The Flask app every gridshift process serves: /metrics, /healthz, /readyz, plus its own routes."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, disable_created_metrics, generate_latest
from waitress.adjustments import Adjustments  # type: ignore[import-untyped]
from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
from waitress.server import TcpWSGIServer  # type: ignore[import-untyped]
from waitress.task import ErrorTask  # type: ignore[import-untyped]

from gridshift.serving_settings import ServingSettings

Readiness = Callable[[], tuple[bool, dict[str, Any]]]

log = logging.getLogger(__name__)


Exposition = Callable[[], bytes]
_EXPOSITION = "gridshift.exposition"  # where an app keeps its exposition, for create_metrics_app


def create_app(*, registry: CollectorRegistry, readiness: Readiness, name: str = "gridshift",
               exposition: Exposition | None = None, serve_metrics: bool = True) -> Flask:
    """`exposition`: the /metrics body (default: the registry rendered on each scrape);
    `serve_metrics` False: /metrics is left to create_metrics_app on its own port."""
    # `_created` series double every counter and histogram for no use in Prometheus text format.
    disable_created_metrics()
    app = Flask(name)
    render = exposition or (lambda: generate_latest(registry))
    app.extensions[_EXPOSITION] = render
    if serve_metrics:
        _add_metrics(app, render)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        ready, detail = readiness()
        return jsonify(ready=ready, **detail), 200 if ready else 503

    _add_json_errors(app)
    return app


class ExpositionCache:
    """The registry rendered off the scrape path: again whenever `version()` changes (a refresh
    published new data; compared by identity) and at least every `max_age_seconds` (process
    metrics, staleness), so a scrape serves bytes already made. `version` is polled every
    `poll_seconds`."""

    def __init__(self, registry: CollectorRegistry, version: Callable[[], object], *, max_age_seconds: float = 15.0,
                 poll_seconds: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self._registry, self._version, self._clock = registry, version, clock
        self.max_age_seconds, self.poll_seconds = max_age_seconds, poll_seconds
        self._rendered: tuple[object, float, bytes] | None = None  # (version, when, bytes), swapped whole
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self) -> bytes:
        """The bytes for a scrape: never older than the data (a scrape just after a refresh, before
        the renderer has polled, renders itself) nor than `max_age_seconds`."""
        if self._due(self.max_age_seconds):
            return self.render()
        assert self._rendered is not None
        return self._rendered[2]

    def render(self) -> bytes:
        version, started = self._version(), self._clock()
        body = generate_latest(self._registry)
        self._rendered = (version, started, body)
        return body

    def render_if_due(self) -> bool:
        """The renderer's turn: render if the data changed or the bytes are 80 % of their allowed
        age (ahead of a scrape that would otherwise render); True if it rendered."""
        if not self._due(0.8 * self.max_age_seconds):
            return False
        self.render()
        return True

    def _due(self, age: float) -> bool:
        rendered = self._rendered
        return rendered is None or rendered[0] is not self._version() or self._clock() - rendered[1] >= age

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="exposition", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.render_if_due()
            except Exception:  # a collector's bug must not stop the renders; the scrape will show it
                log.exception("rendering the metrics exposition failed")
            self._stop.wait(self.poll_seconds)


def create_metrics_app(app: Flask) -> Flask:
    """/metrics alone, with `app`'s exposition: for a separate metrics port."""
    metrics_app = Flask(f"{app.name}-metrics")
    _add_metrics(metrics_app, app.extensions[_EXPOSITION])
    _add_json_errors(metrics_app)
    return metrics_app


def _add_metrics(app: Flask, render: Exposition) -> None:
    @app.get("/metrics")
    def metrics() -> Response:
        return Response(render(), mimetype=CONTENT_TYPE_LATEST)


def _add_json_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        """404, 405, a broken body...: JSON like every other answer, never Werkzeug's HTML page."""
        return jsonify(error=f"{error.name}: {error.description}"), int(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.error("unhandled error in a request: %s", type(error).__name__, exc_info=error)
        return jsonify(error=InternalServerError.description), 500


class _JsonErrorTask(ErrorTask):
    """The answer to a request the server refuses before the app (malformed, too large, two
    Content-Length headers...): JSON like every other answer, not waitress's text page."""

    def execute(self) -> None:
        error = self.request.error
        body = json.dumps({"error": f"{error.reason}: {error.body}"}).encode() + b"\n"
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    """A connection that knows since when its current request has been arriving."""

    error_task_class = _JsonErrorTask

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A connection that sends nothing has its first request "arriving" from the start.
        self.request_began: float | None = time.monotonic()

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_began = time.monotonic()
        result = bool(super().received(data))
        if self.request is None:  # no request is part-read: the last one arrived whole
            self.request_began = None
        return result


class _WaitressServer(TcpWSGIServer):  # type: ignore[misc]  # waitress ships no type hints
    channel_class = _Channel
    request_timeout_seconds: float = 10.0

    def maintenance(self, now: float) -> None:
        """Waitress closes idle connections; this also closes those whose request has taken too
        long to arrive, however often they send a byte."""
        super().maintenance(now)
        cutoff = time.monotonic() - self.request_timeout_seconds
        for channel in list(self.active_channels.values()):
            began = getattr(channel, "request_began", None)
            if began is not None and began < cutoff:
                channel.will_close = True


class Server:
    """A production WSGI server (waitress) on its own thread, stoppable (the CLI, tests, the demo).

    Requests are read whole by one event loop before a thread runs them, so slow clients hold a
    connection (capped by `max_connections`, closed after `request_timeout_seconds`) but never a
    thread. Measured against Werkzeug's server and cheroot in benchmarks/serving.py."""

    def __init__(self, app: Any, host: str, port: int, settings: ServingSettings | None = None, *,
                 max_body_bytes: int = 64 * 1024) -> None:
        settings = settings or ServingSettings()
        adjustments = Adjustments(
            host=host, port=port, threads=settings.threads, connection_limit=settings.max_connections,
            channel_timeout=settings.idle_timeout_seconds, max_request_header_size=settings.max_header_bytes,
            max_request_body_size=max_body_bytes, ident="gridshift", expose_tracebacks=False,
            # poll(), not select(): select() fails past 1,024 open descriptors.
            asyncore_use_poll=True, cleanup_interval=max(1, min(settings.request_timeout_seconds, 30) // 4),
        )
        self._server = _WaitressServer(app, adj=adjustments)
        self._server.request_timeout_seconds = settings.request_timeout_seconds
        self._thread = threading.Thread(target=self._server.run, name=f"http-{self.port}", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> "Server":
        self._thread.start()
        return self

    def stop_accepting(self) -> None:
        """Close the listening socket: new connections are refused, open ones are still answered."""
        done = threading.Event()

        def close_listener() -> None:
            if self._server.accepting:
                self._server.accepting = False
                self._server.del_channel()
                self._server.socket.close()
            done.set()

        self._run_in_loop(close_listener, done)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let requests already running finish (for up to `timeout`), then close
        every connection and end the server's thread."""
        self.stop_accepting()
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        closed = threading.Event()

        def close_all() -> None:
            for channel in list(self._server._map.values()):
                channel.close()
            closed.set()

        self._run_in_loop(close_all, closed)
        self._thread.join(timeout=timeout)

    def _run_in_loop(self, action: Callable[[], None], done: threading.Event) -> None:
        """Run `action` on the server's own thread (waitress's loop is not thread-safe)."""
        if not self._thread.is_alive():
            action()
            return
        self._server.trigger.pull_trigger(action)
        done.wait(timeout=5)
