"""traces.load_trace on the recorded real traces, checked against an independent csv reading,
and on copies of them broken by one edit. The CarbonCast benchmark's emissions files are the
two slices the repository carries in data/forecast/ (DE, ISO timestamps with `+00:00`; AUS_QLD,
`MM/DD/YYYY`)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gridshift.exporters.grid.traces import (
    CARBONADVISOR,
    CARBONCAST,
    ELECTRICITYMAPS_HOURLY,
    LETSWAITAWHILE,
    TraceError,
    load_trace,
)

EMAPS_DE = "emaps_hourly_DE_2022-06-01_2022-06-30.csv"
EMAPS_CISO = "emaps_hourly_US-CAL-CISO_2022-06-01_2022-06-30.csv"
LWA_DE = "lwa_ci_DE_2020-12-01_2020-12-31_15min.csv"
LWA_GB = "lwa_ci_GB_2020-10-01_2020-11-12_mixed.csv"
ADVISOR_SE = "carbonadvisor_emaps_SE_2022-06-10_2022-07-19.csv"

LCA = "Carbon Intensity gCO\u2082eq/kWh (LCA)"
DIRECT = "Carbon Intensity gCO\u2082eq/kWh (direct)"

# file -> (format, time column, value column, zone hint, timestamp format)
FILES = {
    EMAPS_DE: (ELECTRICITYMAPS_HOURLY, "Datetime (UTC)", LCA, "DE", "%Y-%m-%d %H:%M:%S"),
    EMAPS_CISO: (ELECTRICITYMAPS_HOURLY, "Datetime (UTC)", LCA, "US-CAL-CISO", "%Y-%m-%d %H:%M:%S"),
    LWA_DE: (LETSWAITAWHILE, "Time", "Carbon Intensity", None, "%Y-%m-%d %H:%M:%S"),
    LWA_GB: (LETSWAITAWHILE, "Time", "Carbon Intensity", None, "%Y-%m-%d %H:%M:%S"),
    ADVISOR_SE: (CARBONADVISOR, "zone_datetime", "carbon_intensity_avg", None, "%Y-%m-%dT%H:%M:%S.%fZ"),
}


def epoch(text: str, fmt: str) -> int:
    return int(datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp())


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def csv_points(file: str, path: Path) -> list[tuple[int, float]]:
    """The file's (epoch, value) pairs as the csv module reads them, rows with a value only."""
    _, time_column, value_column, _, fmt = FILES[file]
    return [(epoch(row[time_column], fmt), float(row[value_column])) for row in csv_rows(path) if row[value_column]]


def steps(starts: list[int]) -> Counter:
    return Counter(b - a for a, b in zip(starts, starts[1:]))


def lines_of(path: Path) -> list[str]:
    """The file's lines with their endings (the Electricity Maps exports end lines with CRLF)."""
    text = path.read_bytes().decode("utf-8")
    assert '"' not in text  # the edits below split on commas
    return text.splitlines(keepends=True)


def edit_field(source: Path, target: Path, line: int, column: int, value: str) -> Path:
    """A copy of `source` with one field of one line (1-based) replaced."""
    lines = lines_of(source)
    body = lines[line - 1].rstrip("\r\n")
    ending = lines[line - 1][len(body):]
    fields = body.split(",")
    fields[column] = value
    lines[line - 1] = ",".join(fields) + ending
    target.write_bytes("".join(lines).encode("utf-8"))
    return target


@pytest.fixture(scope="module")
def intensity(recorded_data: Path) -> Path:
    return recorded_data / "intensity"


@pytest.mark.parametrize("file", list(FILES))
def test_each_recorded_format_loads_every_row_as_csv_reads_it(intensity, file):
    source_format, _, value_column, zone, _ = FILES[file]
    path = intensity / file
    expected = csv_points(file, path)
    trace = load_trace(path)
    assert trace.source_format == source_format
    assert trace.zone == zone
    assert len(trace.points) == len(csv_rows(path)) == len(expected)
    assert trace.points[0] == expected[0] and trace.points[-1] == expected[-1]
    assert list(trace.points) == sorted(expected)  # every row, in order, nothing invented
    assert trace.skipped == sum(1 for row in csv_rows(path) if not row[value_column]) == 0
    assert trace.duplicates == 0
    assert trace.resolution_seconds == steps([start for start, _ in expected]).most_common(1)[0][0]
    assert trace.path == str(path)


def test_first_and_last_rows_match_the_files(intensity):
    de = load_trace(intensity / EMAPS_DE)
    assert de.points[0] == (epoch("2022-06-01 00:00:00", "%Y-%m-%d %H:%M:%S"), 632.41)
    assert de.points[-1] == (epoch("2022-06-30 23:00:00", "%Y-%m-%d %H:%M:%S"), 539.78)
    assert de.resolution_seconds == 3600
    assert de.end == epoch("2022-07-01 00:00:00", "%Y-%m-%d %H:%M:%S")
    gb = load_trace(intensity / LWA_GB)
    assert gb.points[-1] == (epoch("2020-11-12 23:45:00", "%Y-%m-%d %H:%M:%S"), 153.25361817991413)


@pytest.mark.parametrize("file", [EMAPS_DE, EMAPS_CISO])
def test_electricity_maps_exports_use_the_lifecycle_column_not_direct(intensity, file):
    rows = csv_rows(intensity / file)
    trace = load_trace(intensity / file)
    assert [value for _, value in trace.points] == [float(row[LCA]) for row in rows]
    differs = sum(1 for (_, value), row in zip(trace.points, rows) if value != float(row[DIRECT]))
    assert differs == len(rows)  # lifecycle is above direct in every hour of both zones
    assert trace.points[0][1] == (632.41 if file == EMAPS_DE else 165.24)


def test_a_zone_name_with_a_comma_inside_quotes_is_read(intensity, tmp_path):
    # The recorded CISO export names the zone without a comma; Electricity Maps quotes names that have one.
    source = intensity / EMAPS_CISO
    text = source.read_bytes().decode("utf-8")
    name = ",California Independent System Operator,"
    assert text.count(name) == len(csv_rows(source)) == 720
    quoted = tmp_path / "ciso_quoted.csv"
    quoted.write_bytes(text.replace(name, ',"California Independent System Operator, Inc.",').encode("utf-8"))
    assert load_trace(quoted).points == load_trace(source).points
    assert load_trace(quoted).zone == "US-CAL-CISO"


def test_carbonadvisor_keeps_its_gaps_and_uses_zone_datetime(intensity):
    path = intensity / ADVISOR_SE
    rows = csv_rows(path)
    trace = load_trace(path)
    starts = [start for start, _ in trace.points]
    # zone_datetime (the hour), not the fractional fetch timestamp
    assert starts[0] == epoch("2022-06-10T00:00:00.000Z", "%Y-%m-%dT%H:%M:%S.%fZ") != int(float(rows[0]["timestamp"]))
    csv_steps = steps([epoch(row["zone_datetime"], "%Y-%m-%dT%H:%M:%S.%fZ") for row in rows])
    assert steps(starts) == csv_steps
    assert len(csv_steps) > 1 and csv_steps[75600] == 1  # irregular, with one 21-hour hole
    assert trace.resolution_seconds == 3600
    gap = starts.index(next(a for a, b in zip(starts, starts[1:]) if b - a == 75600))
    before = trace.points[gap]
    assert trace.seconds[gap] == 3600
    assert trace.value_at(before[0] + 1800) == before[1]
    assert trace.value_at(before[0] + 3600) is None  # the hole stays a hole
    assert trace.value_at(before[0] + 75599) is None
    assert trace.value_at(before[0] + 75600) == trace.points[gap + 1][1]


def test_carbonadvisor_rows_with_an_empty_value_are_skipped_and_counted(intensity, tmp_path):
    source = intensity / ADVISOR_SE
    original = load_trace(source)
    copy = edit_field(source, tmp_path / "se.csv", 101, 2, "")
    copy = edit_field(copy, copy, 601, 2, "")
    trace = load_trace(copy)
    assert trace.skipped_lines == (101, 601)
    assert trace.skipped == 2
    assert len(trace.points) == len(original.points) - 2
    missing = original.points[99]  # line 101 is the 100th data row
    assert missing not in trace.points
    assert trace.value_at(missing[0] + 1) is None  # the skipped row leaves a gap, nothing invented
    assert original.value_at(missing[0] + 1) == missing[1]


def test_gb_mixed_resolution_is_kept_as_recorded(intensity):
    path = intensity / LWA_GB
    trace = load_trace(path)
    starts = [start for start, _ in trace.points]
    csv_steps = steps([start for start, _ in csv_points(LWA_GB, path)])
    assert steps(starts) == csv_steps
    assert set(csv_steps) == {900, 1800}
    assert trace.resolution_seconds == 1800  # 30-minute steps are the majority
    switch = next(i for i, (a, b) in enumerate(zip(starts, starts[1:])) if b - a == 900)
    assert datetime.fromtimestamp(starts[switch], timezone.utc).date().isoformat() == "2020-10-31"
    assert all(b - a == 1800 for a, b in zip(starts[:switch], starts[1:switch + 1]))
    later = Counter(b - a for a, b in zip(starts[switch:], starts[switch + 1:]))
    # 15-minute from then on, but for half hours at 2020-10-31 23:00 and 23:30
    assert later == {900: csv_steps[900], 1800: 2}
    assert trace.seconds[switch - 1] == 1800 and trace.seconds[switch + 1] == 900
    quarter = trace.points[switch + 10]
    assert trace.value_at(quarter[0] + 899) == quarter[1]
    assert trace.value_at(quarter[0] + 900) == trace.points[switch + 11][1]


def test_lwa_de_missing_slots_stay_missing(intensity):
    trace = load_trace(intensity / LWA_DE)
    assert trace.resolution_seconds == 900
    starts = [start for start, _ in trace.points]
    holes = [a for a, b in zip(starts, starts[1:]) if b - a != 900]
    assert len(holes) == 2 and all(b - a == 1800 for a, b in zip(starts, starts[1:]) if a in holes)
    for start in holes:
        assert trace.value_at(start + 900) is None


def test_duplicate_timestamps_keep_the_later_row_and_order_is_restored(intensity, tmp_path):
    source = intensity / LWA_DE
    lines = lines_of(source)
    original = load_trace(source)
    repeated = lines[:11] + ["2020-12-01 02:15:00,1.5\n"] + lines[11:]  # line 11 is 02:15
    swapped = lines[:5] + [lines[6], lines[5]] + lines[7:]
    (tmp_path / "dup.csv").write_text("".join(repeated), encoding="utf-8")
    (tmp_path / "swapped.csv").write_text("".join(swapped), encoding="utf-8")
    dup = load_trace(tmp_path / "dup.csv")
    assert dup.duplicates == 1
    assert len(dup.points) == len(original.points)
    assert dup.points[9] == (epoch("2020-12-01 02:15:00", "%Y-%m-%d %H:%M:%S"), 1.5)
    assert load_trace(tmp_path / "swapped.csv").points == original.points


# --- files broken by one edit: TraceError naming the file and the line ----------------------


def truncate(source: Path, target: Path, line: int) -> Path:
    """A copy cut in the middle of the timestamp of `line` (as an interrupted copy would be)."""
    lines = lines_of(source)
    target.write_bytes(("".join(lines[:line - 1]) + lines[line - 1][:13]).encode("utf-8"))
    return target


VALUE_COLUMN = {EMAPS_DE: 5, EMAPS_CISO: 5, LWA_DE: 1, LWA_GB: 1, ADVISOR_SE: 2}


@pytest.mark.parametrize("file", list(FILES))
def test_a_truncated_copy_names_the_broken_line(intensity, tmp_path, file):
    line = len(lines_of(intensity / file)) // 2
    broken = truncate(intensity / file, tmp_path / file, line)
    with pytest.raises(TraceError) as caught:
        load_trace(broken)
    assert caught.value.line == line
    assert str(broken) in str(caught.value) and f"line {line}" in str(caught.value)
    assert "truncated" in str(caught.value)


@pytest.mark.parametrize("file", list(FILES))
def test_a_non_numeric_value_names_its_line(intensity, tmp_path, file):
    broken = edit_field(intensity / file, tmp_path / file, 345, VALUE_COLUMN[file], "n/a")
    with pytest.raises(TraceError) as caught:
        load_trace(broken)
    assert caught.value.line == 345
    assert f"{broken}, line 345" in str(caught.value)
    assert "not a number: 'n/a'" in str(caught.value)


@pytest.mark.parametrize("file", list(FILES))
def test_a_negative_value_names_its_line(intensity, tmp_path, file):
    broken = edit_field(intensity / file, tmp_path / file, 678, VALUE_COLUMN[file], "-12.5")
    with pytest.raises(TraceError) as caught:
        load_trace(broken)
    assert caught.value.line == 678
    assert "negative intensity -12.5" in str(caught.value)


def test_the_direct_column_alone_is_not_mistaken_for_lifecycle(intensity, tmp_path):
    # An export without the LCA column is not a format gridshift reads (it would be operational only).
    broken = edit_field(intensity / EMAPS_DE, tmp_path / "de.csv", 1, 5, "Carbon Intensity gCO\u2082eq/kWh (other)")
    with pytest.raises(TraceError, match="unknown trace format") as caught:
        load_trace(broken)
    assert caught.value.line == 1


@pytest.mark.parametrize("file", list(FILES))
def test_an_unknown_header_names_line_one(intensity, tmp_path, file):
    broken = edit_field(intensity / file, tmp_path / file, 1, 0, "when")
    with pytest.raises(TraceError) as caught:
        load_trace(broken)
    assert caught.value.line == 1
    assert "unknown trace format" in str(caught.value) and str(broken) in str(caught.value)


def test_a_bad_timestamp_and_a_missing_file(intensity, tmp_path):
    broken = edit_field(intensity / LWA_GB, tmp_path / "gb.csv", 77, 0, "2020-13-01 00:00:00")
    with pytest.raises(TraceError, match="line 77: not a date-time"):
        load_trace(broken)
    with pytest.raises(TraceError, match="cannot read the file") as caught:
        load_trace(tmp_path / "absent.csv")
    assert caught.value.line is None
    (tmp_path / "header_only.csv").write_text("Time,Carbon Intensity\n", encoding="utf-8")
    with pytest.raises(TraceError, match="at least two"):
        load_trace(tmp_path / "header_only.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(TraceError, match="empty file"):
        load_trace(tmp_path / "empty.csv")


# --- CarbonCast emissions files (data/forecast/: slices of the benchmark's full files) --------

CARBONCAST_DE = "DE_lifecycle_emissions_2021-06-01_2021-07-14.csv"
CARBONCAST_AUS = "AUS_QLD_lifecycle_emissions_2021-06-01_2021-07-14.csv"
CARBONCAST_FORMATS = {CARBONCAST_DE: "%Y-%m-%d %H:%M:%S%z", CARBONCAST_AUS: "%m/%d/%Y %H:%M:%S"}
CARBONCAST_VALUE_COLUMN = 2  # after the unnamed row index and `UTC time`


@pytest.fixture(scope="module")
def forecast(recorded_data: Path) -> Path:
    return recorded_data / "forecast"


def carboncast_points(path: Path, fmt: str) -> list[tuple[int, float]]:
    points = []
    for row in csv_rows(path):
        moment = datetime.strptime(row["UTC time"], fmt)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        points.append((int(moment.timestamp()), float(row["carbon_intensity"])))
    return points


@pytest.mark.parametrize("file", list(CARBONCAST_FORMATS))
def test_carboncast_loads_every_row_as_csv_reads_it(forecast, file):
    path = forecast / file
    expected = carboncast_points(path, CARBONCAST_FORMATS[file])
    trace = load_trace(path)
    assert trace.source_format == CARBONCAST
    assert trace.zone is None  # the region is in the file name only: callers pass the zone
    assert list(trace.points) == expected  # every row, in order: the row index and the per-source columns ignored
    assert len(expected) == 44 * 24
    assert trace.skipped == 0 and trace.duplicates == 0
    assert set(steps(trace.starts)) == {3600} and trace.resolution_seconds == 3600
    assert trace.start == epoch("2021-06-01 00:00:00", "%Y-%m-%d %H:%M:%S")
    assert trace.end == epoch("2021-07-15 00:00:00", "%Y-%m-%d %H:%M:%S")


def test_carboncast_first_rows_and_the_value_column(forecast):
    de = load_trace(forecast / CARBONCAST_DE)
    assert de.points[0] == (epoch("2021-06-01 00:00:00", "%Y-%m-%d %H:%M:%S"), 362.95)  # `12408,...,362.95,20299,...`
    aus = load_trace(forecast / CARBONCAST_AUS)
    assert aus.points[0] == (epoch("2021-06-01 00:00:00", "%Y-%m-%d %H:%M:%S"), 502.01)
    # MM/DD/YYYY is month first: 06/13/2021 is 13 June (day first it would not parse), right after 06/12 23:00
    line = next(i for i, text in enumerate(lines_of(forecast / CARBONCAST_AUS)) if ",06/13/2021 00:00:00," in text)
    assert aus.points[line - 1][0] == epoch("2021-06-13 00:00:00", "%Y-%m-%d %H:%M:%S")
    assert aus.points[line - 1][0] - aus.points[line - 2][0] == 3600


def test_carboncast_forecast_files_are_not_mistaken_for_emissions(forecast):
    # CarbonCast's forecast files have `UTC time` but `actual_carbon_intensity_<target>`: not a trace format
    path = forecast / "DE_carbon_from_src_forecasts_lifecycle_Jul_Dec_2021_first_14_windows.csv"
    with pytest.raises(TraceError, match="unknown trace format") as caught:
        load_trace(path)
    assert caught.value.line == 1 and "CarbonCast (`,UTC time,carbon_intensity,...`)" in str(caught.value)


@pytest.mark.parametrize("file", list(CARBONCAST_FORMATS))
def test_carboncast_a_truncated_copy_names_the_broken_line(forecast, tmp_path, file):
    line = len(lines_of(forecast / file)) // 2
    broken = truncate(forecast / file, tmp_path / file, line)  # cut inside the timestamp: too few fields
    with pytest.raises(TraceError) as caught:
        load_trace(broken)
    assert caught.value.line == line
    assert f"{broken}, line {line}" in str(caught.value) and "truncated" in str(caught.value)


@pytest.mark.parametrize("file", list(CARBONCAST_FORMATS))
def test_carboncast_a_non_numeric_value_names_its_line(forecast, tmp_path, file):
    broken = edit_field(forecast / file, tmp_path / file, 345, CARBONCAST_VALUE_COLUMN, "n/a")
    with pytest.raises(TraceError) as caught:
        load_trace(broken)
    assert caught.value.line == 345
    assert f"{broken}, line 345: carbon_intensity: not a number: 'n/a'" in str(caught.value)


def test_carboncast_negative_value_bad_timestamp_and_empty_value(forecast, tmp_path):
    source = forecast / CARBONCAST_DE
    negative = edit_field(source, tmp_path / "negative.csv", 678, CARBONCAST_VALUE_COLUMN, "-12.5")
    with pytest.raises(TraceError, match="line 678: carbon_intensity: negative intensity -12.5"):
        load_trace(negative)
    day_first = edit_field(forecast / CARBONCAST_AUS, tmp_path / "day_first.csv", 77, 1, "13/06/2021 04:00:00")
    with pytest.raises(TraceError, match="line 77: not a date-time: '13/06/2021 04:00:00'"):
        load_trace(day_first)
    original = load_trace(source)
    empty = edit_field(source, tmp_path / "empty.csv", 101, CARBONCAST_VALUE_COLUMN, "")
    trace = load_trace(empty)
    assert trace.skipped_lines == (101,)
    assert list(trace.points) == [point for i, point in enumerate(original.points) if i != 99]
    assert trace.value_at(original.points[99][0] + 1) is None  # a gap, nothing invented
