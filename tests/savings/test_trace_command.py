"""`python -m benchmarks.savings --trace FILE [--zone ZONE] [--json OUT]`: every policy over one trace
file in any format gridshift reads, wherever it is (here real excerpts the repository carries: the
CarbonCast DE slice, which names no zone, and the Electricity Maps DE export, which does), rows
shaped like docs/savings/rows.json; a missing or unreadable file is one line on stderr and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.savings.run import POLICIES
from gridshift.recordings import REPO_DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
CARBONCAST_DE = REPO_DATA_DIR / "forecast" / "DE_lifecycle_emissions_2021-06-01_2021-07-14.csv"
EMAPS_DE = REPO_DATA_DIR / "intensity" / "emaps_hourly_DE_2022-06-01_2022-06-30.csv"
WORKLOADS = {"batch", "training", "restart", "service", "elastic"}


def savings(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.savings", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def recorded_row_shape() -> dict[str, type]:
    recorded = json.loads((ROOT / "docs" / "savings" / "rows.json").read_text())
    return {key: type(value) for key, value in recorded[0].items()}


@pytest.fixture(scope="module")
def carboncast_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("trace") / "out" / "rows.json"
    return savings("--trace", str(CARBONCAST_DE), "--days", "3", "--json", str(out)), out


def test_one_trace_every_policy_rows_shaped_like_the_recorded_ones(carboncast_run):
    result, out = carboncast_run
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = json.loads(out.read_text())
    shape = recorded_row_shape()
    assert isinstance(rows, list) and rows
    for row in rows:
        assert list(row) == list(shape)  # the same keys in the same order
        for key, kind in shape.items():
            assert isinstance(row[key], int | float) if kind in (int, float) else isinstance(row[key], kind), (key, row)
    assert {row["trace"] for row in rows} == {CARBONCAST_DE.stem}  # not in TRACES: named by the file
    assert {row["policy"] for row in rows} == set(POLICIES)
    assert {row["workload"] for row in rows} <= WORKLOADS and "batch" in {row["workload"] for row in rows}
    jobs = [row for row in rows if row["workload"] != "service"]
    assert sum(row["jobs"] for row in jobs) > 0  # three days hold arrivals of the shorter cells
    assert all(row["missed"] == 0 for row in jobs if row["workload"] in ("batch", "training"))  # restart loses work
    assert all(row["oracle_grams"] <= row["grams"] + 1e-6 for row in jobs if row["workload"] != "restart")
    # the same summary as the full run prints, and where the rows went
    assert "of oracle" in result.stdout and CARBONCAST_DE.stem in result.stdout
    assert f"rows in {out}" in result.stdout
    assert f"zone {CARBONCAST_DE.stem}" in result.stdout  # CarbonCast files name no zone: the file's stem


def test_the_zone_is_the_files_unless_given(tmp_path):
    named = savings("--trace", str(EMAPS_DE), "--days", "2")
    assert named.returncode == 0, named.stderr[-2000:]
    assert "electricitymaps_hourly, zone DE," in named.stdout  # the export's Zone Id
    given = savings("--trace", str(CARBONCAST_DE), "--days", "2", "--zone", "DE", "--json", str(tmp_path / "de.json"))
    assert given.returncode == 0, given.stderr[-2000:]
    assert "carboncast, zone DE," in given.stdout
    assert {row["trace"] for row in json.loads((tmp_path / "de.json").read_text())} == {CARBONCAST_DE.stem}


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_missing_file_is_exit_2_and_one_line(tmp_path):
    out = tmp_path / "rows.json"
    result = savings("--trace", str(tmp_path / "absent.csv"), "--json", str(out), timeout=60)
    assert result.returncode == 2
    assert one_line(result.stderr) == f"benchmarks.savings: no trace file {tmp_path / 'absent.csv'}"
    assert not out.exists()


@pytest.mark.parametrize("edit, reason", [
    (lambda lines: lines[:40] + [lines[40][:20]], "line 41: expected 13 fields as in the header, got 2 (a truncated file?)"),
    (lambda lines: lines[:9] + [lines[9].replace(",271.75,", ",n/a,")] + lines[10:], "line 10: carbon_intensity: not a number: 'n/a'"),
    (lambda lines: ["when,what\n"] + lines[1:], "line 1: unknown trace format, header 'when,what'"),
], ids=["truncated", "not-a-number", "unknown-header"])
def test_an_unreadable_trace_is_exit_2_and_one_line_naming_the_line(tmp_path, edit, reason):
    lines = CARBONCAST_DE.read_text(encoding="utf-8").splitlines(keepends=True)[:80]
    assert ",271.75," in lines[9]  # the real row the second case breaks
    broken = tmp_path / "broken.csv"
    broken.write_text("".join(edit(lines)), encoding="utf-8")
    out = tmp_path / "rows.json"
    result = savings("--trace", str(broken), "--days", "3", "--json", str(out), timeout=60)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith(f"benchmarks.savings: not a trace gridshift reads: {broken}, ")
    assert reason in line
    assert not out.exists()


def test_trace_options_that_do_not_fit_are_refused(tmp_path):
    for args, message in ((["--trace", str(CARBONCAST_DE), "--docs"], "not with --docs"),
                          (["--trace", str(CARBONCAST_DE), "--rows", "x.json"], "not with --rows"),
                          (["--json", str(tmp_path / "x.json")], "--zone and --json go with --trace FILE")):
        result = savings(*args, timeout=60)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.json").exists()
