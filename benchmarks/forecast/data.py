"""Reading the benchmark's files generically: any file of the same formats, whatever its region.

- emissions (`<R>_{direct,lifecycle}_emissions.csv`): a timestamp column (`UTC time`, `Datetime (UTC)`,
  `zone_datetime`, `Time`), the intensity (`carbon_intensity`, or an Electricity Maps export's
  `... (direct)` / `... (LCA)` / `... (Life cycle)` column chosen by --target), and production per
  source (every other numeric column). Timestamp formats differ per file (`MM/DD/YYYY HH:MM:SS`,
  `YYYY-MM-DD HH:MM:SS[+00:00]`, `YYYY-MM-DDTHH:MM`): pandas' mixed parser reads each, month first.
  DE and NL production values are 4 x MW: only ratios of production are used, so this cancels.
- fuel forecasts (a folder of CSVs with `avg_<name>_production_forecast` columns): the TSO's day-ahead
  forecast per name (wind, solar, ...). Zeros throughout a year (2019 in the benchmark) are "not published".
- baselines: CarbonCast (`actual_carbon_intensity_<t>`, `forecasted_carbon_intensity_<t>`, 96-hour
  windows, window w issued at the first window's start + w days), DACF (`carbon_from_src_forecasts`,
  hourly), EWMA (`year,month,day,...,prediction,hour`: sorted here), CarbonX (`Carbon Intensity Forecast`,
  96-hour windows issued daily).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

TIME_COLUMNS = ("UTC time", "Datetime (UTC)", "zone_datetime", "Time", "datetime", "timestamp")
NOT_PRODUCTION = {"carbon_intensity", "Local time", "Unnamed: 0"}


class FormatError(ValueError):
    pass


@dataclass(frozen=True)
class Series:
    """Hourly values keyed by epoch hour (seconds // 3600)."""

    hours: np.ndarray  # int64, sorted, unique
    values: np.ndarray

    def lookup(self, hours: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.hours, hours)
        pos = np.clip(pos, 0, max(len(self.hours) - 1, 0))
        hit = (len(self.hours) > 0) & (self.hours[pos] == hours)
        return np.where(hit, self.values[pos], np.nan)


def _epoch_hours(column: pd.Series) -> np.ndarray:
    text = column.astype(str).str.replace("Z", "+00:00", regex=False)
    stamps = pd.to_datetime(text, utc=True, format="mixed", dayfirst=False)
    return (stamps.astype("int64") // 10**9 // 3600).to_numpy() if stamps.dtype.kind == "i" else \
        (stamps.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[s]").astype("int64") // 3600).to_numpy()


def _time_column(frame: pd.DataFrame, path: Path) -> str:
    for name in TIME_COLUMNS:
        if name in frame.columns:
            return name
    raise FormatError(f"{path}: no timestamp column (expected one of {', '.join(TIME_COLUMNS)})")


def _hourly(hours: np.ndarray, values: np.ndarray) -> Series:
    ok = np.isfinite(values)
    hours, values = hours[ok], values[ok]
    frame = pd.DataFrame({"h": hours, "v": values}).groupby("h", sort=True)["v"].mean()
    return Series(frame.index.to_numpy(np.int64), frame.to_numpy(float))


def intensity_column(frame: pd.DataFrame, target: str, path: Path) -> str:
    if "carbon_intensity" in frame.columns:
        return "carbon_intensity"
    wanted = ("(direct)",) if target == "direct" else ("(LCA)", "(Life cycle)", "(life cycle)")
    for column in frame.columns:
        if "intensity" in column.lower() and any(w in column for w in wanted):
            return column
    if "Carbon Intensity" in frame.columns:  # Let's Wait Awhile
        return "Carbon Intensity"
    raise FormatError(f"{path}: no {target} carbon-intensity column")


@dataclass(frozen=True)
class Emissions:
    path: Path
    intensity: Series
    generation: Series | None  # total production (sum over sources), hourly
    mix: dict[str, Series] = field(default_factory=dict)  # production per source, hourly (the columns as named)


def read_emissions(path: Path, *, target: str) -> Emissions:
    frame = pd.read_csv(path)
    hours = _epoch_hours(frame[_time_column(frame, path)])
    column = intensity_column(frame, target, path)
    intensity = _hourly(hours, pd.to_numeric(frame[column], errors="coerce").to_numpy(float))
    sources = [c for c in frame.columns if c not in NOT_PRODUCTION and c != column and not c.startswith("Unnamed")
               and c not in TIME_COLUMNS and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) and "intensity" not in c.lower()
               and "percentage" not in c.lower() and "%" not in c]
    generation = None
    mix: dict[str, Series] = {}
    if sources:
        production = frame[sources].apply(pd.to_numeric, errors="coerce")
        generation = _hourly(hours, production.sum(axis=1, min_count=1).to_numpy(float))
        mix = {source: _hourly(hours, production[source].to_numpy(float)) for source in sources}
    return Emissions(path, intensity, generation, mix)


def read_fuel_forecasts(folder: Path) -> dict[str, Series]:
    """name -> the TSO's day-ahead forecast, from every CSV in the folder with `avg_<name>_production_forecast`."""
    out: dict[str, Series] = {}
    for path in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(path)
        hours = _epoch_hours(frame[_time_column(frame, path)])
        for column in frame.columns:
            if column.startswith("avg_") and column.endswith("_production_forecast"):
                name = column[len("avg_"):-len("_production_forecast")]
                values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float).copy()
                years = pd.to_datetime(hours * 3600, unit="s").year.to_numpy()
                for year in np.unique(years):  # a year of zeros: not published then
                    in_year = years == year
                    if np.nansum(np.abs(values[in_year])) == 0:
                        values[in_year] = np.nan
                out[name] = _hourly(hours, values)
    return out


@dataclass(frozen=True)
class Baseline:
    """A published forecaster's predictions: issue hour -> values for the hours from it (24 or 96)."""

    name: str
    windows: dict[int, np.ndarray]


def _windows(hours: np.ndarray, values: np.ndarray, length: int) -> dict[int, np.ndarray]:
    return {int(hours[k]): values[k:k + length] for k in range(0, len(hours) - length + 1, length)}


def read_carboncast(path: Path) -> Baseline:
    frame = pd.read_csv(path)
    column = next(c for c in frame.columns if c.startswith("forecasted_carbon_intensity"))
    first = _epoch_hours(frame[_time_column(frame, path)].iloc[:1])[0]
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
    windows = {int(first + 24 * w): values[96 * w:96 * w + 96] for w in range(len(values) // 96)}
    return Baseline("carboncast", windows)


def read_carbonx(path: Path) -> Baseline:
    frame = pd.read_csv(path)
    hours = _epoch_hours(frame[_time_column(frame, path)])
    column = next(c for c in frame.columns if "forecast" in c.lower())
    return Baseline("carbonx", _windows(hours, pd.to_numeric(frame[column], errors="coerce").to_numpy(float), 96))


def _daily(name: str, series: Series) -> Baseline:
    """An hourly day-ahead forecast cut into windows issued at each 00:00 UTC (day 1 only)."""
    windows = {}
    for day in np.unique(series.hours // 24):
        windows[int(day * 24)] = series.lookup(day * 24 + np.arange(24))
    return Baseline(name, windows)


def read_dacf(path: Path) -> Baseline:
    frame = pd.read_csv(path)
    hours = _epoch_hours(frame[_time_column(frame, path)])
    return _daily("dacf", _hourly(hours, pd.to_numeric(frame["carbon_from_src_forecasts"], errors="coerce").to_numpy(float)))


def read_ewma(path: Path) -> Baseline:
    frame = pd.read_csv(path)
    stamps = pd.to_datetime(frame[["year", "month", "day"]]) + pd.to_timedelta(frame["hour"], unit="h")
    hours = (stamps.astype("datetime64[s]").astype("int64") // 3600).to_numpy()
    order = np.argsort(hours, kind="stable")
    values = pd.to_numeric(frame["prediction"], errors="coerce").to_numpy(float)[order]
    return _daily("ewma", _hourly(hours[order], values))
