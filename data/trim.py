"""Recreate this folder's trimmed traces from the full recordings (../shared/data/intensity).

Each trimmed CSV is the original's header line and then every original line whose timestamp
falls in [first day 00:00, last day + 1 00:00) UTC, byte for byte. Run from the repository root:

    python data/trim.py [SOURCE_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# original file -> (trimmed file, first day, last day): the windows the tests and the demo use
WINDOWS = {
    "emaps_hourly_DE_2022.csv": ("emaps_hourly_DE_2022-06-01_2022-06-30.csv", "2022-06-01", "2022-06-30"),
    "emaps_hourly_US-CAL-CISO_2022.csv": ("emaps_hourly_US-CAL-CISO_2022-06-01_2022-06-30.csv", "2022-06-01", "2022-06-30"),
    "lwa_ci_DE_2020_15min.csv": ("lwa_ci_DE_2020-12-01_2020-12-31_15min.csv", "2020-12-01", "2020-12-31"),
    "lwa_ci_GB_2020_30min.csv": ("lwa_ci_GB_2020-10-01_2020-11-12_mixed.csv", "2020-10-01", "2020-11-12"),
    "carbonadvisor_emaps_SE_2021-10_2022-09.csv": ("carbonadvisor_emaps_SE_2022-06-10_2022-07-19.csv", "2022-06-10", "2022-07-19"),
}


def _day(line: bytes) -> str:
    """The UTC day of a data line: every format starts with an ISO-like date."""
    return line[:10].decode("ascii")


def trim(source: Path, target: Path, first: str, last: str) -> int:
    header, *lines = source.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if first <= _day(line) <= last]
    target.write_bytes(header + b"".join(kept))
    return len(kept)


def main(argv: list[str]) -> int:
    source_dir = Path(argv[0]) if argv else HERE.parents[1] / "shared" / "data" / "intensity"
    for original, (trimmed, first, last) in WINDOWS.items():
        rows = trim(source_dir / original, HERE / "intensity" / trimmed, first, last)
        print(f"{trimmed}: {rows} rows of {original}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
