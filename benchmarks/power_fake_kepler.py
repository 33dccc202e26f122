"""Loopback Keplers for the power benchmark: the real 0.7.x dump scaled to many containers.

`scaled_dump` replicates the real dump's 22 containers (every one of its 25 families, so the
payload has the real dump's shape and line lengths) with new container ids, pod names and
namespaces until there are `containers` of them; `kernel_processes` and `system_processes`
stay once. Container ids carry a `@@NODE@@` placeholder that the server replaces per node, so
every node reports its own containers.

`start_in_child` serves `GET /<node>/metrics` for any node name from a spawned child process
(its CPU and memory do not count against the exporter being measured).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import re
from dataclasses import dataclass
from pathlib import Path

PLACEHOLDER = "@@NODE@@"
_CONTAINER = re.compile(r'container_id="([^"]*)",container_name="([^"]*)",container_namespace="([^"]*)"(.*?)pod_name="([^"]*)"')


def scaled_dump(text: str, *, containers: int, namespaces_per_kind: int = 20) -> bytes:
    """The dump with `containers` containers (the pseudo-containers included)."""
    families: list[tuple[list[str], list[str]]] = []  # (header lines, sample lines)
    for line in text.splitlines():
        if line.startswith("#"):
            if not families or families[-1][1]:
                families.append(([], []))
            families[-1][0].append(line)
        elif line:
            families[-1][1].append(line)
    real = sorted({m.group(1) for line in text.splitlines() if (m := _CONTAINER.search(line))
                   and m.group(3) not in ("kernel", "system")})
    copies = -(-(containers - 2) // len(real))
    out: list[str] = []
    for headers, samples in families:
        out.extend(headers)
        for sample in samples:
            match = _CONTAINER.search(sample)
            if match is None or match.group(3) in ("kernel", "system"):
                out.append(sample)
                continue
            index = real.index(match.group(1))
            for copy in range(copies):
                if copy * len(real) + index >= containers - 2:
                    break
                cid, name, namespace, middle, pod = match.groups()
                new = (f'container_id="{PLACEHOLDER}{copy:05d}{cid[13:]}",container_name="{name}",'
                       f'container_namespace="{namespace}-{copy % namespaces_per_kind:02d}"{middle}pod_name="{pod}-{copy}"')
                out.append(sample[: match.start()] + new + sample[match.end():])
    return ("\n".join(out) + "\n").encode()


@dataclass
class FakeKeplers:
    url: str
    process: multiprocessing.process.BaseProcess

    def target(self, node: str) -> str:
        return f"{self.url}/{node}/metrics"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


def start_in_child(*, dump: Path, containers: int) -> FakeKeplers:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, str(dump), containers), daemon=True)
    process.start()
    port = parent.recv()
    return FakeKeplers(url=f"http://127.0.0.1:{port}", process=process)


def _serve(pipe: multiprocessing.connection.Connection, dump: str, containers: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    template = scaled_dump(Path(dump).read_text(encoding="utf-8"), containers=containers)
    marker = PLACEHOLDER.encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            node = self.path.strip("/").split("/")[0]
            body = template.replace(marker, node.encode()[-8:].rjust(8, b"0"))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    pipe.send(server.server_address[1])
    server.serve_forever()
