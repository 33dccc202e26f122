"""Recreate the trimmed benchmark slices of data/forecast/ from ../shared/data/forecast (see data/README.md).

Each slice is the header line, then every original line whose timestamp falls on the days named
in the file name (UTC, both days included), byte for byte; the CarbonCast forecast slice keeps
the first 14 windows (14 x 96 lines). Run: .venv/bin/python data/forecast/trim.py
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIRST, LAST = date(2021, 6, 1), date(2021, 7, 14)
SLICES = {  # repository file: shared file under forecast/
    "DE_lifecycle_emissions_2021-06-01_2021-07-14.csv": "carboncast/DE/DE_lifecycle_emissions.csv",
    "DE_fuel_forecast_2021-06-01_2021-07-14/DE_wind_2019_clean.csv": "carboncast/DE/fuel_forecast/DE_wind_2019_clean.csv",
    "DE_fuel_forecast_2021-06-01_2021-07-14/DE_solar_2019_clean.csv": "carboncast/DE/fuel_forecast/DE_solar_2019_clean.csv",
    "AUS_QLD_lifecycle_emissions_2021-06-01_2021-07-14.csv": "carboncast/AUS_QLD/AUS_QLD_lifecycle_emissions.csv",
}
WINDOWS = {"DE_carbon_from_src_forecasts_lifecycle_Jul_Dec_2021_first_14_windows.csv":
           "carboncast/DE/DE_carbon_from_src_forecasts_lifecycle_Jul_Dec_2021.csv"}


def day_of(line: str) -> date | None:
    stamp = line.split(",")[1] if line.startswith(",") or line.split(",")[0].isdigit() else line.split(",")[0]
    stamp = stamp.strip()
    for fmt in ("%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(stamp, fmt).date()
        except ValueError:
            continue
    return None


def main() -> int:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data" / "forecast"
    for name, source in SLICES.items():
        lines = (shared / source).read_bytes().decode("utf-8").splitlines(keepends=True)
        kept = [lines[0]] + [line for line in lines[1:] if (d := day_of(line)) is not None and FIRST <= d <= LAST]
        (HERE / name).parent.mkdir(exist_ok=True)
        (HERE / name).write_bytes("".join(kept).encode("utf-8"))
    for name, source in WINDOWS.items():
        lines = (shared / source).read_bytes().decode("utf-8").splitlines(keepends=True)
        (HERE / name).write_bytes("".join(lines[:1 + 14 * 96]).encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
