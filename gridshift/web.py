"""The Flask app every gridshift process serves: /metrics, /healthz, /readyz, plus its own routes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, disable_created_metrics, generate_latest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

Readiness = Callable[[], tuple[bool, dict[str, Any]]]

log = logging.getLogger(__name__)


def create_app(*, registry: CollectorRegistry, readiness: Readiness, name: str = "gridshift") -> Flask:
    # `_created` series double every counter and histogram for no use in Prometheus text format.
    disable_created_metrics()
    app = Flask(name)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        ready, detail = readiness()
        return jsonify(ready=ready, **detail), 200 if ready else 503

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        """404, 405, a broken body...: JSON like every other answer, never Werkzeug's HTML page."""
        return jsonify(error=f"{error.name}: {error.description}"), int(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.error("unhandled error in a request: %s", type(error).__name__, exc_info=error)
        return jsonify(error=InternalServerError.description), 500

    return app


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request: a scrape every 15 s would drown the useful lines. A
    request with two Content-Length headers is refused before the app (WSGI passes one on, so the
    app cannot tell: a proxy and gridshift could read different bodies, request smuggling)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if len(self.headers.get_all("Content-Length") or []) > 1:
            body = b'{"error":"more than one Content-Length header"}\n'
            self.send_response_only(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return False
        return True


class Server:
    """A threaded WSGI server on its own thread, stoppable (tests, the demo, the CLI)."""

    def __init__(self, app: Flask, host: str, port: int) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"http-{port}", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> "Server":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
