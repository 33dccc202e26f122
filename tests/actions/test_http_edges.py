"""Issue 19 defects 5 and 8, the HTTP edges, against the action service served for real on
loopback (gridshift.web.Server) and spoken to over raw sockets where a client library would
refuse to send what an attacker can: a body shorter than its Content-Length, a broken chunked
body, two Content-Length headers. Every answer is JSON; nothing reaches the alert book.
The server's own limits (timeouts, caps, shutdown) are in tests/test_serving.py."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

import pytest

from gridshift.web import Server
from tests.actions.conftest import AUTH, TOKEN, alert, payload

BODY = json.dumps(payload(alert("DE_LU", "high"))).encode()


@pytest.fixture
def served(service) -> Iterator[tuple[object, int]]:
    server = Server(service.service.app, "127.0.0.1", 0, max_body_bytes=service.service.served_body_limit).start()
    yield service, server.port
    server.stop()


def exchange(port: int, request: bytes, *, half_close: bool = True) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def post(headers: str, body: bytes) -> bytes:
    return (f"POST /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH['Authorization']}\r\n"
            f"Content-Type: application/json\r\nConnection: close\r\n{headers}\r\n").encode() + body


def assert_json_4xx(status: int, headers: dict[str, str], body: bytes) -> None:
    assert 400 <= status < 500, (status, body[:300])
    assert headers["content-type"].startswith("application/json"), body[:300]
    assert json.loads(body)["error"]


def test_a_body_shorter_than_its_content_length_is_never_acted_on(served) -> None:
    """The server reads a request whole before the app sees it: one that ends early (the sender
    half-closes) is dropped unanswered, and one that never ends is cut at the request timeout
    (tests/test_serving.py)."""
    service, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(post(f"Content-Length: {len(BODY) + 200}\r\n", BODY))
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(65536) == b""
    service.reconcile()
    assert service.service.book.active() == []


def test_a_broken_chunked_body_is_a_json_4xx(served) -> None:
    service, port = served
    status, headers, body = exchange(port, post("Transfer-Encoding: chunked\r\n", b"zz\r\n" + BODY + b"\r\n0\r\n\r\n"))
    assert_json_4xx(status, headers, body)
    assert service.service.book.active() == []


def test_two_content_length_headers_are_refused(served) -> None:
    service, port = served
    status, headers, body = exchange(port, post(f"Content-Length: {len(BODY)}\r\nContent-Length: {len(BODY)}\r\n", BODY))
    assert_json_4xx(status, headers, body)
    assert service.service.book.active() == []


@pytest.mark.parametrize("request_line, code", [("GET /nowhere HTTP/1.1", 404), ("GET /api/v1/alerts HTTP/1.1", 405),
                                                 ("DELETE /metrics HTTP/1.1", 405)])
def test_unknown_paths_and_methods_answer_json(served, request_line: str, code: int) -> None:
    _, port = served
    status, headers, body = exchange(port, f"{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert status == code and headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]


@pytest.mark.parametrize("presented", [f" {TOKEN}", f"{TOKEN}\u00a0", f"\u00a0{TOKEN}", f"{TOKEN} "])
def test_a_token_with_whitespace_around_it_is_another_token(service, presented: str) -> None:
    response = service.post(payload(alert()), headers={"Authorization": f"Bearer {presented}"})
    assert response.status_code == 401 and response.get_json()["error"]
    assert service.service.book.active() == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-be"])
def test_a_body_that_is_not_utf8_is_refused(service, encoding: str) -> None:
    response = service.post(None, data=BODY.decode().encode(encoding), headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400 and "UTF-8" in response.get_json()["error"]
    assert service.service.book.active() == []


def test_insecure_says_so_in_the_log_and_in_readiness(make_service, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="gridshift.actions.app"):
        insecure = make_service(env={}, insecure=True)
    assert any("WITHOUT a token" in record.getMessage() for record in caplog.records)
    insecure.reconcile()
    assert insecure.client.get("/readyz").get_json()["insecure"] is True
