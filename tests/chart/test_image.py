"""The Dockerfile has the properties the chart relies on (no container engine here to build it).

Aspects: multi-stage, the final stage a slim Python with only the builder's venv copied in; a
numeric non-root USER equal to the chart's runAsUser; ENTRYPOINT `gridshift` (the chart's args
pick the role); pip keeps no cache and nothing installs a compiler; the .dockerignore lets in
exactly what the COPY lines need; and those files alone build a wheel that carries every
component and the `gridshift` command, which is what the builder stage does.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import zipfile

import yaml

from tests.chart.render import CHART, ROOT

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def args() -> dict[str, str]:
    return dict(rest.split("=", 1) for keyword, rest in instructions() if keyword == "ARG" and "=" in rest)


def test_multi_stage_with_a_slim_python_base():
    builder, final = stages()
    assert re.fullmatch(r"\$\{PYTHON_IMAGE\} AS builder", builder[0][1])
    assert final[0][1] == "${PYTHON_IMAGE}"
    assert args()["PYTHON_IMAGE"] == "python:3.11-slim"


def test_the_final_stage_gets_only_the_venv():
    _, final = stages()
    copies = [rest for keyword, rest in final if keyword == "COPY"]
    assert copies == ["--from=builder /opt/gridshift /opt/gridshift"]
    runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert "pip" not in runs and "apt-get" not in runs


def test_a_numeric_non_root_user_equal_to_the_charts():
    _, final = stages()
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "no USER in the final stage: it would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0 and (not gid or gid.isdigit())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == values["containerSecurityContext"]["runAsUser"] == int(uid)


def test_one_entrypoint_for_every_role():
    _, final = stages()
    (entrypoint,) = [json.loads(rest) for keyword, rest in final if keyword == "ENTRYPOINT"]
    assert entrypoint == ["gridshift"]


def test_no_pip_cache_and_no_compiler():
    text = DOCKERFILE.read_text()
    builder, _ = stages()
    env = " ".join(rest for keyword, rest in builder if keyword == "ENV")
    assert "PIP_NO_CACHE_DIR=1" in env
    assert not re.search(r"\b(gcc|g\+\+|build-essential|make)\b", text)
    assert "--mount=type=cache" not in text


def dockerignore_admits(path: str) -> bool:
    """Docker's rule: the last pattern matching a path decides (a `!` pattern re-includes)."""
    admitted = True
    for pattern in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        if any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts))):
            admitted = negated
    return admitted


def copied_sources() -> list[str]:
    builder, _ = stages()
    sources = []
    for keyword, rest in builder:
        if keyword == "COPY":
            sources += [s.rstrip("/") for s in rest.split()[:-1] if not s.startswith("--")]
    return sources


def test_the_dockerignore_lets_in_what_is_copied_and_keeps_out_the_rest():
    for source in copied_sources():
        assert (ROOT / source).exists(), source
        assert dockerignore_admits(source), f"{source} is copied but .dockerignore excludes it"
    for kept_out in (".venv", ".git", "tests", "benchmarks", "build", "charts", "docs"):
        assert not dockerignore_admits(kept_out), kept_out
    assert not dockerignore_admits("gridshift/__pycache__")


def test_the_copied_files_alone_build_a_wheel_with_every_component(tmp_path):
    context = tmp_path / "context"
    for source in copied_sources():
        src = ROOT / source
        if src.is_dir():
            shutil.copytree(src, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (context / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, context / source)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                             "--wheel-dir", str(tmp_path / "wheels"), str(context)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp_path / "wheels").glob("gridshift-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in files if n.endswith("entry_points.txt"))
    for module in ("gridshift/cli.py", "gridshift/exporters/grid/app.py", "gridshift/exporters/power/app.py",
                   "gridshift/actions/app.py"):
        assert module in files, module
    assert not [f for f in files if f.split("/")[0] in ("exporters", "actions", "tests")]  # no bare top-level packages
    assert "gridshift = gridshift.cli:main" in entry_points
