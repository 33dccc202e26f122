"""HTTP in: Alertmanager's webhook, the decision log. Authentication, limits and validation only;
deciding and acting happen in the reconciler."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from flask import Blueprint, Response, jsonify, request

from gridshift.actions.alerts import AlertBook, PayloadError, parse_payload
from gridshift.actions.decisions import DecisionLog
from gridshift.actions.instruments import ActionInstruments
from gridshift.secrets import Secret


def create_webhook(*, token: Secret | None, book: AlertBook, trigger: Callable[[], None], decisions: DecisionLog,
                   instruments: ActionInstruments, max_body_bytes: int) -> Blueprint:
    api = Blueprint("actions_api", __name__, url_prefix="/api/v1")

    def error(status: int, message: str) -> tuple[Response, int]:
        return jsonify(error=message), status

    @api.after_request
    def count(response: Response) -> Response:
        if request.endpoint == "actions_api.alerts":
            instruments.webhook.labels(str(response.status_code)).inc()
        return response

    @api.post("/alerts")
    def alerts() -> tuple[Response, int]:
        if token is not None and not _authorized(request.headers.get("Authorization", ""), token):
            return error(401, "missing or wrong bearer token")
        if request.content_length is not None and request.content_length > max_body_bytes:
            return error(413, f"body larger than {max_body_bytes} bytes")
        if request.mimetype != "application/json":
            return error(415, "expected Content-Type: application/json")
        try:
            body = request.stream.read(max_body_bytes + 1)  # a chunked body has no Content-Length to check first
        except (OSError, ValueError):  # a broken chunked encoding, a connection dropped mid-body
            return error(400, "the body could not be read (broken chunked encoding or a dropped connection)")
        if len(body) > max_body_bytes:
            return error(413, f"body larger than {max_body_bytes} bytes")
        if request.content_length is not None and len(body) != request.content_length:
            return error(400, f"the body is {len(body)} bytes, its Content-Length says {request.content_length}")
        try:
            document = json.loads(body.decode("utf-8"))  # UTF-8 only (json.loads of bytes would take UTF-16/32)
        except (ValueError, UnicodeDecodeError):
            return error(400, "the body is not UTF-8 JSON")
        except RecursionError:
            return error(400, "the body is nested too deeply")
        try:
            parsed = parse_payload(document)
        except PayloadError as problem:
            return error(400, str(problem))
        changed = book.apply(parsed)
        if changed:
            trigger()
        actionable = sum(alert.actionable for alert in parsed)
        return jsonify(accepted=actionable, ignored=len(parsed) - actionable, changed_zones=sorted(changed)), 200

    @api.get("/decisions")
    def recent() -> tuple[Response, int]:
        try:
            limit = min(1000, max(1, int(request.args.get("limit", "100"))))
        except ValueError:
            return error(400, "limit must be an integer")
        return jsonify(decisions=decisions.recent(limit=limit, namespace=request.args.get("namespace"))), 200

    return api


def _authorized(header: str, token: Secret) -> bool:
    """`Bearer <token>` exactly: nothing stripped (the server has trimmed the header's own
    whitespace; a token with a space or U+00A0 around it is another token)."""
    scheme, _, presented = header.partition(" ")
    # Constant-time comparison of equal-type bytes; a wrong scheme still costs one comparison.
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), token.value.encode()) \
        and scheme.lower() == "bearer"
