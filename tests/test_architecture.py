"""The import directions of pyproject.toml's [tool.importlinter] contracts hold.

gridshift's packages live in separate top-level folders mapped under `gridshift` at install
time; import-linter reads one directory tree, so the test lays the package out as installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = {"gridshift": "gridshift", "gridshift/exporters": "exporters", "gridshift/actions": "actions"}


def test_import_contracts_hold(tmp_path):
    for target, source in PACKAGE_DIRS.items():
        shutil.copytree(ROOT / source, tmp_path / target, ignore=shutil.ignore_patterns("__pycache__"))
    lint = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([str(lint), "--no-cache", str(ROOT / "pyproject.toml")], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken." in result.stdout and "Contracts: " in result.stdout
