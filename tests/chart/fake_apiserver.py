"""A minimal Kubernetes API server on loopback, enough for `helm install --dry-run=server`.

With dry_run="server" Helm renders with `lookup` answered by the cluster, checks whether the
release's objects already exist (an object it may adopt carries Helm's ownership labels) and
creates nothing. This server answers discovery for the kinds it is told about, serves the
objects it holds, 404 for everything else, and records every request. Only GETs are expected;
any other method is recorded and refused, so a test can assert nothing was written.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace", "Node", "CustomResourceDefinition"}


def plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x")):
        return lower + "es"
    return lower + "s"


class FakeApiServer:
    def __init__(self, kinds: Iterable[tuple[str, str]], *, version: str = "1.31") -> None:
        """kinds: (apiVersion, kind) pairs to advertise, e.g. ("apps/v1", "Deployment")."""
        self.kinds = sorted(set(kinds) | {("v1", "Secret")})
        self.version = version
        self.objects: dict[str, dict[str, Any]] = {}  # request path -> object
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def put(self, obj: dict[str, Any]) -> None:
        api_version, kind, meta = obj["apiVersion"], obj["kind"], obj["metadata"]
        prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        scope = "" if kind in CLUSTER_SCOPED else f"/namespaces/{meta['namespace']}"
        self.objects[f"{prefix}{scope}/{plural(kind)}/{meta['name']}"] = obj

    def _discovery(self, path: str) -> tuple[int, dict[str, Any]]:
        major, minor = self.version.split(".")
        if path == "/version":
            return 200, {"major": major, "minor": minor, "gitVersion": f"v{self.version}.0", "platform": "linux/amd64"}
        groups: dict[str, list[str]] = {}
        for api_version, _kind in self.kinds:
            if "/" in api_version:
                group, version = api_version.split("/")
                groups.setdefault(group, [])
                if version not in groups[group]:
                    groups[group].append(version)
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": group, "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                 "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]}}
                for group, versions in sorted(groups.items())]}
        match = re.fullmatch(r"/api/(v1)|/apis/([^/]+/[^/]+)", path)
        if match:
            group_version = match.group(1) or match.group(2)
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": [
                {"name": plural(kind), "singularName": kind.lower(), "namespaced": kind not in CLUSTER_SCOPED,
                 "kind": kind, "verbs": ["get", "list", "create", "update", "patch", "delete"]}
                for api_version, kind in self.kinds if api_version == group_version]}
        return 404, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _not_found(self) -> None:
                self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?")[0]
                server.requests.append(("GET", path))
                if path in server.objects:
                    return self._send(200, server.objects[path])
                code, body = server._discovery(path)
                return self._send(code, body) if code == 200 else self._not_found()

            def _refuse(self) -> None:
                server.requests.append((self.command, self.path.split("?")[0]))
                self._send(405, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 405})

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

            def log_message(self, *_: object) -> None:
                pass

        return Handler
