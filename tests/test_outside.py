"""The guard in tests/outside.py sees what it must, and the repository carries what the tests read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gridshift import recordings
from tests import outside


def test_sibling_folders_of_the_checkout_are_outside(tmp_path):
    repo = tmp_path / "gridshift"
    (repo / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert outside.beside_the_checkout(tmp_path / "shared" / "data" / "x.csv", repo)
    assert outside.beside_the_checkout(repo / ".." / "shared", repo)
    assert not outside.beside_the_checkout(repo / "data" / "x.csv", repo)
    assert not outside.beside_the_checkout(tmp_path / ".kube" / "config", repo)  # the user's, not the project's
    assert not outside.beside_the_checkout("/usr/lib/python3/os.py", repo)


def test_a_link_out_of_the_checkout_counts_as_outside(tmp_path):
    repo = tmp_path / "gridshift"
    repo.mkdir()
    (tmp_path / "shared").mkdir()
    (repo / "shortcut").symlink_to(tmp_path / "shared")
    assert outside.beside_the_checkout(repo / "shortcut" / "file", repo)


def test_the_audit_hook_records_an_open_beside_the_checkout():
    sibling = outside.REPO.parent / "shared"
    before = set(outside.reached)
    try:
        open(sibling / "no-such-file-for-the-guard-test")  # noqa: SIM115 (the open itself is the event)
    except OSError:
        pass
    recorded = outside.reached - before
    outside.reached.difference_update(recorded)  # this reach was the test's own
    assert recorded == {str(sibling / "no-such-file-for-the-guard-test")}


def test_subprocesses_cannot_find_the_benchmark_inputs():
    assert os.environ[recordings.SHARED_DATA_ENV] == outside.NOWHERE
    found = subprocess.run([sys.executable, "-c", "from gridshift import recordings; print(recordings.shared_data_dir())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert not Path(found).exists()


def test_a_subprocess_reading_beside_the_checkout_is_logged():
    log = Path(os.environ[outside.LOG_ENV])
    target = outside.REPO.parent / "shared" / "no-such-file-for-the-guard-test"
    before = log.read_text(encoding="utf-8") if log.is_file() else ""
    script = f"import os\ntry:\n    open({str(target)!r})\nexcept OSError:\n    pass\nprint(os.getpid())"
    pid = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    after = log.read_text(encoding="utf-8")
    assert after[len(before):] == f"{pid} {target}\n"
    log.write_text(before, encoding="utf-8")  # this reach was the test's own


def test_the_repository_carries_the_recordings_it_describes():
    data = recordings.REPO_DATA_DIR
    readme = (data / "README.md").read_text(encoding="utf-8")
    files = [path for path in data.rglob("*") if path.is_file() and path.name not in {"README.md", "trim.py"}]
    assert files
    for path in files:
        assert path.name in readme, f"data/README.md does not describe {path.relative_to(data)}"
    for recording in recordings.ENTSOE_RECORDINGS:
        assert (data / "entsoe" / recording.file).is_file()
