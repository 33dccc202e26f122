"""Running a gridshift command as a real process in a test: waiting until it answers
(a free port for it: gridshift.demo.processes.free_port)."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
import requests


def wait_ready(url: str, process: subprocess.Popen[Any], what: str, *, tries: int = 100) -> dict[str, Any]:
    """The JSON of the first 200 from `url`; fails the test if `process` exits or it never answers."""
    for _ in range(tries):
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {process.stderr.read() if process.stderr else ''}")
        try:
            response = requests.get(url, timeout=1)
            if response.status_code == 200:
                return dict(response.json())
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} never became ready")
