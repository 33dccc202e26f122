"""Scrape every Kepler endpoint concurrently, each within a deadline, and parse where fetched.

A node that does not answer, answers late, with an error status or with text that cannot be
read gets a NodeResult with a reason (`timeout`, `connection`, `http_status`, `malformed`,
`unsupported`) instead of a reading: reported, never silently dropped. The body is parsed as
it streams in (only the energy families are kept), so a worker never holds a whole payload.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import requests

from gridshift.exporters.power.parse import KeplerParser, ParseError
from gridshift.exporters.power.records import NodeResult, Target

ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"  # the classic text format, which the field's parser reads
CHUNK_BYTES = 1 << 20


class ScrapeError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class KeplerScraper:
    def __init__(self, *, timeout_seconds: float, max_workers: int, clock: Callable[[], float] = time.time) -> None:
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kepler-scrape")
        self._local = threading.local()
        self._parsers: dict[str, KeplerParser] = {}  # per node: remembers what its sample lines say

    def scrape(self, targets: Sequence[Target]) -> list[NodeResult]:
        nodes = {target.node for target in targets}
        self._parsers = {node: parser for node, parser in self._parsers.items() if node in nodes}
        for node in nodes - set(self._parsers):
            self._parsers[node] = KeplerParser()
        return list(self._pool.map(self.scrape_one, targets))

    def scrape_one(self, target: Target) -> NodeResult:
        """Fetch and parse one node, the body read within `timeout_seconds` from the request's start."""
        url = target.url
        deadline = time.monotonic() + self.timeout_seconds
        parser = self._parsers.get(target.node) or KeplerParser()
        try:
            with self._session().get(url, timeout=self.timeout_seconds, stream=True, headers={"Accept": ACCEPT}) as response:
                if response.status_code != 200:
                    raise ScrapeError("http_status", f"{url}: HTTP {response.status_code}")
                reading = parser.parse(self._chunks(response, deadline, url))
            return NodeResult(node=target.node, at=self.clock(), reading=reading)
        except requests.Timeout:
            error: ScrapeError | ParseError = ScrapeError("timeout", f"{url}: no answer within {self.timeout_seconds:g} s")
        except requests.RequestException as failure:
            error = ScrapeError("connection", f"{url}: {type(failure).__name__}")
        except (ScrapeError, ParseError) as failure:
            error = failure
        return NodeResult(node=target.node, at=self.clock(), reason=error.reason, message=str(error))

    def _chunks(self, response: requests.Response, deadline: float, url: str) -> Iterator[bytes]:
        for chunk in response.iter_content(CHUNK_BYTES):
            if time.monotonic() > deadline:
                raise ScrapeError("timeout", f"{url}: no complete answer within {self.timeout_seconds:g} s")
            yield chunk

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # pod IPs: no proxy from the environment
            self._local.session = session
        return session
