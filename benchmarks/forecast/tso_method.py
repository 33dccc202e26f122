"""The exporter's ENTSO-E day-ahead method (exporters/grid/forecast.py) as a baseline, on the benchmark's files.

The method, run by the exporter's own `day_ahead_points`: each forecast hour's intensity is that of
the TSO's wind and solar forecasts at their factors plus the rest of the total at the intensity of
the latest actual mix without wind and solar. Two stand-ins, because the benchmark lacks them:

- the total generation forecast (A71): the actual total of the same hour on the day before the
  issue (persistence), so the method is scored on day 1 only, as far as the TSO forecasts reach;
- the factor of each source: read from the file by least squares on the hours before the first
  issue (for the benchmark's own factors, intensity x total = sum of factor x production holds).
"""

from __future__ import annotations

import numpy as np

from benchmarks.forecast.data import Emissions, Series
from gridshift.exporters.grid.forecast import day_ahead_points
from gridshift.exporters.grid.mix import TOTAL, GenerationMix, Interval, Profile

DAY = 24
# The exporter keys production types by ENTSO-E PSR code; its method treats these as variable renewables.
PSR_OF = {"wind": "B19", "solar": "B16"}
NAME = "entsoe_method"


def factors(emissions: Emissions, before_hour: int) -> dict[str, float]:
    """Each source's factor (g/kWh) from the hours before `before_hour`, least squares, clipped at 0."""
    names = sorted(emissions.mix)
    hours = emissions.intensity.hours[emissions.intensity.hours < before_hour]
    production = np.stack([emissions.mix[name].lookup(hours) for name in names], axis=1)
    total = np.nansum(production, axis=1)
    target = emissions.intensity.lookup(hours) * total
    ok = np.isfinite(production).all(axis=1) & np.isfinite(target) & (total > 0)
    solution, *_ = np.linalg.lstsq(production[ok], target[ok], rcond=None)
    return {PSR_OF.get(name, name): max(0.0, float(value)) for name, value in zip(names, solution)}


def _profile(hours: np.ndarray, values: np.ndarray) -> tuple[Interval, ...]:
    return tuple(Interval(int(h) * 3600, int(h) * 3600 + 3600, float(v)) for h, v in zip(hours, values) if np.isfinite(v))


def forecasts(*, emissions: Emissions, fuel: dict[str, Series], issues: np.ndarray) -> np.ndarray | None:
    """(issues, 48) day-1 forecasts of the method (day 2 NaN); None when the file has no wind or
    solar forecast or no production per source."""
    if not fuel or not emissions.mix or emissions.generation is None or not set(fuel) <= set(PSR_OF):
        return None
    table = factors(emissions, int(issues[0]))
    out = np.full((len(issues), 2 * DAY), np.nan)
    for d, issue in enumerate(issues):
        issue = int(issue)
        latest_hour = np.array([issue - 1])
        watts = {PSR_OF.get(name, name): float(series.lookup(latest_hour)[0]) for name, series in emissions.mix.items()}
        if not all(np.isfinite(list(watts.values()))):
            continue
        latest = GenerationMix((issue - 1) * 3600, {k: v for k, v in watts.items() if v >= 0}, {})
        ahead = np.arange(issue, issue + DAY)
        total = Profile({TOTAL: _profile(ahead, emissions.generation.lookup(ahead - DAY))})
        wind_solar = Profile({PSR_OF[name]: _profile(ahead, series.lookup(ahead)) for name, series in fuel.items()})
        for point in day_ahead_points(latest=latest, total=total, wind_solar=wind_solar, factors=table,
                                      after=(issue - 1) * 3600):
            out[d, point.start // 3600 - issue] = point.grams_per_kwh
    return out
