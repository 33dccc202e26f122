"""The Dockerfile has the properties the chart relies on (no container engine here to build it).

Aspects: multi-stage, the final stage a slim Python with only the builder's venv copied in; the
base either pinned by digest or, while the registry cannot be reached, a bare tag marked as not
pinned (never a made-up digest); a numeric non-root USER equal to the chart's runAsUser;
ENTRYPOINT `gridshift` (the chart's args pick the role); OCI labels from build ARGs; pip keeps
no cache, nothing installs a compiler, and the builder installs exactly the hash-locked
dependency set (requirements/runtime.lock, binary wheels only, nothing resolved at build time)
and builds with the locked setuptools; the lock covers every runtime dependency of
pyproject.toml at a version its bound accepts, and is closed under their requirements; the
.dockerignore lets in exactly what the COPY lines need; and those files alone build a wheel that
carries every component and the `gridshift` command, which is what the builder stage does.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from benchmarks import dockerfile
from tests.chart.render import CHART, ROOT

DOCKERFILE = dockerfile.DOCKERFILE
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
BUILD_LOCK = ROOT / "requirements" / "build.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DIGEST = re.compile(r"^python:3\.11-slim@sha256:[0-9a-f]{64}$")
NOT_PINNED_MARK = "BASE IMAGE NOT YET PINNED BY DIGEST"


def instructions() -> list[tuple[str, str]]:
    return dockerfile.instructions()


def stages() -> list[list[tuple[str, str]]]:
    return dockerfile.stages()


def args() -> dict[str, str]:
    return dockerfile.global_args()


def test_multi_stage_with_a_slim_python_base():
    builder, final = stages()
    assert re.fullmatch(r"\$\{PYTHON_IMAGE\} AS builder", builder[0][1])
    assert final[0][1] == "${PYTHON_IMAGE}"  # one base for both: the venv's interpreter is the runtime's
    assert args()["PYTHON_IMAGE"].partition("@")[0] == "python:3.11-slim"


def test_the_base_is_pinned_by_digest_or_marked_as_not_pinned():
    """A digest when one could be resolved; else the bare tag with the marker, never a made-up digest."""
    base = args()["PYTHON_IMAGE"]
    if "@" in base:
        assert DIGEST.match(base), base
        assert NOT_PINNED_MARK not in DOCKERFILE.read_text()
    else:
        assert base == "python:3.11-slim"
        assert NOT_PINNED_MARK in DOCKERFILE.read_text()
        assert "not pinned by digest" in (ROOT / "docs" / "helm.md").read_text()


def test_oci_labels_come_from_build_args():
    _, final = stages()
    labels = dict(re.findall(r'(org\.opencontainers\.image\.[a-z]+)="([^"]*)"',
                             " ".join(rest for keyword, rest in final if keyword == "LABEL")))
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert labels["org.opencontainers.image.revision"] == "${REVISION}"
    assert labels["org.opencontainers.image.source"] == "${SOURCE}"
    assert labels["org.opencontainers.image.licenses"] == PYPROJECT["project"]["license"]
    assert labels["org.opencontainers.image.title"] == PYPROJECT["project"]["name"]
    assert labels["org.opencontainers.image.description"]
    declared = {rest.split("=")[0] for keyword, rest in final if keyword == "ARG"}
    assert {"VERSION", "REVISION", "SOURCE"} <= declared  # declared in the stage, or the labels would be empty
    assert args()["VERSION"] == PYPROJECT["project"]["version"]


def pip_commands(stage) -> list[str]:
    runs = " && ".join(rest for keyword, rest in stage if keyword == "RUN")
    return [c.strip() for c in runs.split("&&") if re.search(r"\bpip (install|wheel)\b", c)]


def test_the_builder_installs_only_the_hash_locked_set():
    builder, _ = stages()
    commands = pip_commands(builder)
    locked = [c for c in commands if "-r requirements/" in c]
    assert {re.search(r"-r (\S+)", c).group(1) for c in locked} == {"requirements/runtime.lock", "requirements/build.lock"}
    for command in locked:
        assert "--require-hashes" in command and "--no-deps" in command and "--only-binary :all:" in command, command
    for command in set(commands) - set(locked):  # gridshift's own wheel: built and installed with nothing fetched
        if " wheel " in command:
            assert "--no-build-isolation" in command and "--no-deps" in command, command
        else:
            assert "--no-index" in command and "--no-deps" in command, command
    runs = " ".join(rest for keyword, rest in builder if keyword == "RUN")
    assert "pip check" in runs  # the locked set fits gridshift's requirements


def locked(path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip-compile lock."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)(.*)$", line)
        if match:
            found[canonicalize_name(match.group(1))] = (match.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", match.group(3)))
    return found


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, BUILD_LOCK], ids=["runtime", "build"])
def test_every_locked_package_is_pinned_with_hashes(lock):
    entries = locked(lock)
    assert entries
    unhashed = [name for name, (_, hashes) in entries.items() if not hashes]
    assert not unhashed, f"{lock.name}: no --hash for {unhashed}"
    pinned_lines = [line for line in lock.read_text().splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(pinned_lines) == len(entries), "a requirement that is not name==version"


@pytest.mark.parametrize(("lock", "requirements"), [
    (RUNTIME_LOCK, PYPROJECT["project"]["dependencies"]),
    (BUILD_LOCK, PYPROJECT["build-system"]["requires"]),
], ids=["runtime", "build"])
def test_the_lock_covers_every_dependency_at_a_version_its_bound_accepts(lock, requirements):
    entries = locked(lock)
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name not in entries:
            problems.append(f"{requirement.name} is not in {lock.name}")
        elif not requirement.specifier.contains(entries[name][0], prereleases=True):
            problems.append(f"{requirement.name}: {lock.name} has {entries[name][0]}, pyproject.toml asks {requirement.specifier}")
    assert not problems, "\n".join(problems) + f"\nregenerate: see {lock.parent.name}/README.md"


def test_the_runtime_lock_is_closed_under_its_packages_requirements():
    """Each locked package this venv has at the same version: everything it requires is locked too
    (the Dockerfile installs with --no-deps, so a missing one would be missing in the image)."""
    entries = locked(RUNTIME_LOCK)
    environment = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
                   "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    checked, missing = 0, []
    for name, (version, _) in entries.items():
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if distribution.version != version:
            continue
        checked += 1
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            if canonicalize_name(requirement.name) not in entries:
                missing.append(f"{name} {version} requires {text}")
    if checked < len(entries) * 3 // 4:  # a venv far from the lock says little about the lock's closure
        pytest.skip(f"this venv has only {checked} of the {len(entries)} locked versions installed: "
                    "regenerate the lock (requirements/README.md) or reinstall the venv to check it")
    assert not missing, "\n".join(missing)


def test_the_lock_says_how_it_was_made():
    head = RUNTIME_LOCK.read_text().splitlines()[:6]
    assert any("pip-compile" in line and "--generate-hashes" in line and "pyproject.toml" in line for line in head), head
    readme = (ROOT / "requirements" / "README.md").read_text()
    assert "pip-compile" in readme and "runtime.lock" in readme and "build.lock" in readme


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
    return dockerfile.copied_sources(builder)


def test_the_dockerignore_lets_in_what_is_copied_and_keeps_out_the_rest():
    for source in copied_sources():
        assert (ROOT / source).exists(), source
        assert dockerignore_admits(source), f"{source} is copied but .dockerignore excludes it"
    for kept_out in (".venv", ".git", "tests", "benchmarks", "build", "charts", "docs", "requirements/build.in"):
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
