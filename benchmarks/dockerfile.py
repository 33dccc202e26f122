"""The repository's Dockerfile read as instructions and stages (there is no container engine here:
tests/chart/test_image.py checks its properties and benchmarks/image_size.py replays its builder)."""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"

Instruction = tuple[str, str]  # (INSTRUCTION, its arguments)


def instructions(text: str | None = None) -> list[Instruction]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text() if text is None else text)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages(text: str | None = None) -> list[list[Instruction]]:
    """The instructions of each stage, each list starting with its FROM."""
    result: list[list[Instruction]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def global_args(text: str | None = None) -> dict[str, str]:
    """The ARGs declared with a default, wherever they are (name -> default)."""
    return dict(rest.split("=", 1) for keyword, rest in instructions(text) if keyword == "ARG" and "=" in rest)


def copied_sources(stage: list[Instruction]) -> list[str]:
    """The build-context paths a stage's COPY lines take (not --from copies)."""
    sources = []
    for keyword, rest in stage:
        if keyword == "COPY" and "--from=" not in rest:
            sources += [s.rstrip("/") for s in rest.split()[:-1] if not s.startswith("--")]
    return sources


def env(stage: list[Instruction]) -> dict[str, str]:
    """A stage's ENV settings (KEY=value form)."""
    found: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            found.update(item.split("=", 1) for item in rest.split())
    return found
