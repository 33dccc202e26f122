"""Catch any test, or any process a test starts, reaching outside the checkout (the benchmarks'
../shared/data above all): the suite must pass from a clone with nothing beside it.

Set up once per session by tests/conftest.py (`watch`):
- an audit hook records every file or folder opened in a sibling folder of the checkout (hidden
  folders such as ~/.kube or ~/.cache are the user's, not the project's), in this process and,
  through a `sitecustomize` on PYTHONPATH, in every Python process the tests start (the demo,
  the exporters, the benchmarks' smoke runs), which append to a log file;
- `$GRIDSHIFT_SHARED_DATA` points nowhere, so asking for the benchmarks' inputs fails loudly
  instead of quietly finding them beside the checkout.

This module imports only the standard library: every subprocess imports it at start.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOWHERE = "/nonexistent/tests-read-data-from-the-repository"
LOG_ENV = "GRIDSHIFT_TEST_OUTSIDE_LOG"
AUDITED = frozenset({"open", "os.listdir", "os.scandir"})
reached: set[str] = set()  # this process's reaches

SITECUSTOMIZE = """\
# Written by tests/outside.py for the test session: records reads beside the checkout.
import sys
sys.path.insert(0, {repo!r})
try:
    from tests import outside
finally:
    sys.path.remove({repo!r})
outside.watch_this_subprocess()
"""


def beside_the_checkout(path: str | bytes | os.PathLike[str], repo: Path = REPO) -> bool:
    """True for a path in a folder next to `repo` (its parent's other, non-hidden children)."""
    resolved = Path(os.path.realpath(os.fsdecode(path)))
    try:
        first = resolved.relative_to(repo.parent).parts[0]
    except (ValueError, IndexError):
        return False
    return first != repo.name and not first.startswith(".")


def audit_hook(record: Callable[[str], None]) -> Callable[[str, tuple[object, ...]], None]:
    def audit(event: str, args: tuple[object, ...]) -> None:
        if event in AUDITED and args and isinstance(args[0], (str, bytes, os.PathLike)):
            if beside_the_checkout(args[0]):
                record(os.fsdecode(args[0]))

    return audit


def watch() -> Path:
    """For the test session: guard this process and every Python process started from it.
    Returns the session's folder for the guard (the caller removes it with `unwatch`)."""
    folder = Path(tempfile.mkdtemp(prefix="gridshift-outside-"))
    (folder / "site").mkdir()
    (folder / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE.format(repo=str(REPO)), encoding="utf-8")
    os.environ["GRIDSHIFT_SHARED_DATA"] = NOWHERE  # gridshift.recordings.SHARED_DATA_ENV
    os.environ[LOG_ENV] = str(folder / "reached.log")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder / "site"), os.environ.get("PYTHONPATH")]))
    sys.addaudithook(audit_hook(reached.add))
    return folder


def watch_this_subprocess() -> None:
    log = os.environ.get(LOG_ENV)
    if not log:
        return

    def record(path: str) -> None:
        try:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()} {path}\n")
        except OSError:  # the session is over; never break the process being watched
            pass

    sys.addaudithook(audit_hook(record))


def all_reached(folder: Path) -> list[str]:
    """This process's reaches and those the subprocesses logged, as `path` or `path (pid N)`."""
    logged = []
    log = folder / "reached.log"
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            pid, _, path = line.partition(" ")
            logged.append(f"{path} (subprocess {pid})")
    return sorted(reached) + sorted(set(logged))


def unwatch(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
