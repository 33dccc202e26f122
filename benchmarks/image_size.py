"""The image's runtime venv, measured without a container engine (issue 19 item 6).

Run from the repository root (about a minute; it downloads the locked wheels from PyPI):

    .venv/bin/python -m benchmarks.image_size

There is no container engine here, so the image itself is not built. What is measured is what the
runtime stage copies from the builder, `/opt/gridshift`: the Dockerfile's builder stage is
replayed on this machine, its own RUN lines run by `sh` in a temporary folder (/opt/gridshift,
/opt/build and /wheels moved under it, `python` the interpreter this venv was made from, which
must be the base image's 3.11), with the build context its COPY lines name and with pip's own
defaults (no local index or wheel folder: what a build sees). Measured with `du`: the venv's
site-packages after the locked install (the first RUN) and after the last RUN (gridshift's wheel
installed, pip checked, the bundled test suites removed, pip uninstalled), and the time to import
what the three components import, with the bytecode (as shipped) and without it (what a
read-only root filesystem would cost at every start if the bytecode were dropped to save space).
The base image (python:3.11-slim) adds its own size, not measured here.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, aligned_table, print_table_and_took, provenance, write_result
from benchmarks.dockerfile import copied_sources, env, stages

# What the components import at start (gridshift.cli's three commands), timed in a fresh interpreter.
IMPORTS = "import kubernetes.client, pandas, entsoe, lightgbm, flask, waitress, prometheus_client, croniter, psutil, yaml"
MOVED = ("/opt/gridshift", "/opt/build", "/wheels")


def du_bytes(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def du_human(path: Path) -> str:
    return subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]


def localise(command: str, prefix: Path, python: str) -> str:
    """A builder RUN line with the image's paths moved under `prefix` and `python` this machine's."""
    for path in MOVED:
        command = command.replace(path, f"{prefix}{path}")
    return re.sub(r"(?<![\w/.-])python(?= )", python, command)


def make_context(into: Path, sources: list[str]) -> None:
    for source in sources:
        src, dst = ROOT / source, into / source
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)


def import_seconds(python: Path, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(python), "-B", "-c", IMPORTS], check=True, timeout=120)
        best = min(best, time.perf_counter() - started)
    return best


def replay_builder(workdir: Path) -> dict[str, Any]:
    builder = stages()[0]
    context = workdir / "src"
    make_context(context, copied_sources(builder))
    python = getattr(sys, "_base_executable", sys.executable)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    environment.update(env(builder), PIP_CONFIG_FILE=os.devnull)
    runs = [rest for keyword, rest in builder if keyword == "RUN"]
    site_packages = None
    sizes: dict[str, tuple[int, str]] = {}
    for index, command in enumerate(runs):
        subprocess.run(["sh", "-ec", localise(command, workdir, python)], cwd=context, env=environment, check=True,
                       timeout=900)
        if site_packages is None:
            (site_packages,) = (workdir / "opt" / "gridshift" / "lib").glob("python3.*/site-packages")
        what = "after the locked install" if index == 0 else "as copied into the image"
        sizes[what] = (du_bytes(site_packages), du_human(site_packages))
    assert site_packages is not None
    venv = workdir / "opt" / "gridshift"
    venv_size = (du_bytes(venv), du_human(venv))
    shipped = import_seconds(venv / "bin" / "python")
    bytecode = sum(du_bytes(d) for d in site_packages.rglob("__pycache__"))
    for folder in list(site_packages.rglob("__pycache__")):
        shutil.rmtree(folder)
    without = import_seconds(venv / "bin" / "python")
    return {"site_packages": {what: {"bytes": b, "du_h": h} for what, (b, h) in sizes.items()},
            "venv": {"bytes": venv_size[0], "du_h": venv_size[1]},
            "bytecode_bytes": bytecode, "import_seconds_with_bytecode": shipped,
            "import_seconds_without_bytecode": without,
            "packages": len(list(site_packages.glob("*.dist-info")))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None, help="JSON result (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    stamp = datetime.now(timezone.utc)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gridshift-image-") as workdir:
        measured = replay_builder(Path(workdir))
    result = {**provenance("image_size", 19, stamp, argv, ["Dockerfile", "requirements", "pyproject.toml"]), **measured}
    output = write_result(result, "image_size", stamp, args.output)
    mb = 1_000_000
    rows = [[f"site-packages {what}", f"{size['bytes'] / mb:.0f} MB", size["du_h"]]
            for what, size in measured["site_packages"].items()]
    rows += [["of it, bytecode (__pycache__)", f"{measured['bytecode_bytes'] / mb:.0f} MB", ""],
             ["/opt/gridshift, the whole venv", f"{measured['venv']['bytes'] / mb:.0f} MB", measured["venv"]["du_h"]],
             ["packages (dist-info)", str(measured["packages"]), ""],
             ["imports at start, with / without bytecode",
              f"{measured['import_seconds_with_bytecode']:.2f} / {measured['import_seconds_without_bytecode']:.2f} s", ""]]
    print_table_and_took(aligned_table(["measure", "apparent size", "du -sh"], rows), time.perf_counter() - started, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
