"""An HTTP session that reads at most so many bytes of an answer (issue 19 defect 9: a 30 MB
ENTSO-E answer took the exporter from 94 to 325 MiB, 240 MiB of it kept). Every upstream the grid
exporter asks goes through one: entsoe-py is handed it as its session, the JSON providers use it
for theirs. An answer over the cap is `AnswerTooLarge` before it is held whole; what is under it
behaves as requests' own response (entsoe-py reads `.text`)."""

from __future__ import annotations

from typing import Any

import requests

MAX_ANSWER_BYTES = 16 << 20  # a year of 15-minute generation for a zone is a few MB; backfills ask less
CHUNK_BYTES = 1 << 16


class AnswerTooLarge(requests.RequestException):
    """The upstream's answer is over the cap: not read further, the connection dropped."""


class BoundedSession(requests.Session):
    def __init__(self, max_bytes: int = MAX_ANSWER_BYTES) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("stream"):
            raise ValueError("BoundedSession reads the whole answer: stream=True is not supported")
        kwargs["stream"] = True
        response = super().request(method, url, *args, **kwargs)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response.close()
            raise AnswerTooLarge(f"the answer is {int(declared)} bytes, more than {self.max_bytes}")
        body = bytearray()
        for chunk in response.iter_content(CHUNK_BYTES):
            body += chunk
            if len(body) > self.max_bytes:
                response.close()
                raise AnswerTooLarge(f"the answer is more than {self.max_bytes} bytes")
        response._content = bytes(body)  # what requests itself sets when it reads a whole body
        response._content_consumed = True
        return response
