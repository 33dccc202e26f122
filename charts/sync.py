"""Copy the files the chart includes from their one source into charts/gridshift/files/.

Helm's .Files cannot reach outside the chart directory, so the Prometheus rules
(alertmanager/rules.yaml) and the Grafana dashboards (grafana/*.json) are copied in:

    python charts/sync.py           # copy (run after editing a rule or a dashboard)
    python charts/sync.py --check   # exit 1 and name every file that differs (tests/chart run this)

The copies are committed, so `helm package charts/gridshift` works from a checkout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "gridshift"
DASHBOARDS = CHART / "files" / "dashboards"


@dataclass(frozen=True)
class Copy:
    source: Path
    target: Path


def planned() -> list[Copy]:
    copies = [Copy(ROOT / "alertmanager" / "rules.yaml", CHART / "files" / "rules.yaml")]
    copies += [Copy(source, DASHBOARDS / source.name) for source in sorted((ROOT / "grafana").glob("*.json"))]
    return copies


def stale() -> list[Path]:
    """Dashboards in the chart whose source in grafana/ no longer exists."""
    wanted = {copy.target for copy in planned()}
    return [path for path in sorted(DASHBOARDS.glob("*.json")) if path not in wanted]


def drift() -> list[str]:
    """One line per file that differs from its source (empty: in sync)."""
    problems = []
    for copy in planned():
        if not copy.target.is_file():
            problems.append(f"{rel(copy.target)}: missing (source {rel(copy.source)})")
        elif copy.target.read_bytes() != copy.source.read_bytes():
            problems.append(f"{rel(copy.target)}: differs from {rel(copy.source)}")
    problems += [f"{rel(path)}: its source grafana/{path.name} is gone" for path in stale()]
    return problems


def sync() -> list[str]:
    changed = []
    DASHBOARDS.mkdir(parents=True, exist_ok=True)
    for copy in planned():
        if not copy.target.is_file() or copy.target.read_bytes() != copy.source.read_bytes():
            shutil.copyfile(copy.source, copy.target)
            changed.append(f"copied {rel(copy.source)} -> {rel(copy.target)}")
    for path in stale():
        path.unlink()
        changed.append(f"removed {rel(path)}")
    return changed


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a copy differs from its source")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python charts/sync.py", file=sys.stderr)
        return 1 if problems else 0
    for line in sync():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
