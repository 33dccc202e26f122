"""How every gridshift process serves HTTP: the `serving:` section, read by every command.
Imports nothing from gridshift.config (which imports it)."""

from __future__ import annotations

from dataclasses import dataclass

from gridshift.checks import positive


@dataclass(frozen=True)
class ServingSettings:
    # From a request's first byte to its last (headers and body): a client slower than this is
    # disconnected, however often it sends a byte (slowloris).
    request_timeout_seconds: int = 10
    # A keep-alive connection with no request in flight is closed after this long.
    idle_timeout_seconds: int = 60
    # Open connections at most; past it the server stops accepting until some close. An open
    # connection costs a descriptor and a few KiB, never a thread (benchmarks/serving.py).
    max_connections: int = 1000
    max_header_bytes: int = 64 * 1024
    # Threads answering requests; a slow client never holds one (requests are read before they run).
    threads: int = 4
    # On SIGTERM: stop accepting, let the loop finish its pass and answered requests complete, and
    # exit within this (below the pod's terminationGracePeriodSeconds, 30 by default).
    shutdown_grace_seconds: int = 20

    def check(self, path: str) -> list[str]:
        return positive(self, path, "request_timeout_seconds", "idle_timeout_seconds", "max_connections",
                        "max_header_bytes", "threads", "shutdown_grace_seconds")
