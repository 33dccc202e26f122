"""Catch any test reaching outside the checkout (the benchmarks' ../shared/data above all).

Two guards, both set up once per session by tests/conftest.py:
- an audit hook records every file or folder this process opens in a sibling folder of the
  checkout (hidden folders such as ~/.kube or ~/.cache are the user's, not the project's);
- `$GRIDSHIFT_SHARED_DATA` points nowhere, so a subprocess asking for the benchmarks' inputs
  fails loudly instead of quietly finding them beside the checkout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gridshift import recordings

REPO = Path(__file__).resolve().parents[1]
NOWHERE = "/nonexistent/tests-read-data-from-the-repository"
reached: set[str] = set()

_AUDITED = {"open", "os.listdir", "os.scandir"}


def beside_the_checkout(path: str | os.PathLike[str], repo: Path = REPO) -> bool:
    """True for a path in a folder next to `repo` (its parent's other, non-hidden children)."""
    resolved = Path(os.path.realpath(os.fspath(path)))
    try:
        first = resolved.relative_to(repo.parent).parts[0]
    except (ValueError, IndexError):
        return False
    return first != repo.name and not first.startswith(".")


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event in _AUDITED and args and isinstance(args[0], (str, os.PathLike)) and beside_the_checkout(args[0]):
        reached.add(os.fspath(args[0]))


def watch() -> None:
    os.environ[recordings.SHARED_DATA_ENV] = NOWHERE
    sys.addaudithook(_audit)
