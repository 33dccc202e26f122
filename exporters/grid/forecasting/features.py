"""The feature matrix of (issue hour, horizon) pairs: what was known at the issue hour, scale-free.

Everything is relative to the issue hour `i` (the first hour not yet known) and a target hour
`t = i + h`. Intensities are divided by `level`, the mean of the 24 hours before `i`, so one model
shape serves a grid at 30 g and one at 700 g. The lags never reach `i` or beyond: "same hour on a
previous day" starts at the most recent day whose hour is already known (k0 = h // 24 + 1 days back).

TSO forecasts (wind, solar, load, total_generation: any named series) enter as their value at `t`
and their change since the same-hour lag, both divided by `scale`, the mean over the week before
`i` of the zone's actual total generation when given, else of the sum of the forecasts themselves.
The renewable forecasts (all but load and total generation) also enter as their sum and its
change; with a load or total generation forecast, what the renewables leave for the rest of the
fleet to cover (the residual: demand minus renewables) and the renewables' share of it.

With the zone's actual total generation or a total generation forecast, the exporter's ENTSO-E
day-ahead method (forecast.py) enters as a feature too (`_day_ahead_method`): measured alone on
the benchmark it beats the history-and-forecasts model on some grids (ES), so the model gets it.

The production mix (optional: each source's share of total production, history only) enters as
each source's share in the last known hour, its mean over the 24 hours before `i`, and its share
at the same-hour lag of `t` (scale-free already).
"""

from __future__ import annotations

import warnings

import numpy as np

DAY = 24
WEEK = 168
SAME_HOUR_LAGS = 7  # days

# Forecasts of demand (A65 load) and of total generation (A71); every other named forecast (wind,
# solar) is variable renewable production.
DEMAND_FORECASTS = ("load", "total_generation")

BASE_NAMES = (
    ["horizon", "hour_of_day", "day_of_week", "issue_hour", "level_week", "trend", "last", "last3", "min24", "max24"]
    + [f"same_hour_{j}" for j in range(SAME_HOUR_LAGS)]
    + ["same_hour_mean", "same_hour_last_week"]
)


def _window_means(y: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """Mean of the known values of y[end - width:end] for each end (NaN when none)."""
    known = np.isfinite(y)
    cs = np.concatenate([[0.0], np.cumsum(np.where(known, y, 0.0))])
    cn = np.concatenate([[0], np.cumsum(known)])
    lo = np.clip(ends - width, 0, len(y))
    hi = np.clip(ends, 0, len(y))
    n = cn[hi] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (cs[hi] - cs[lo]) / np.maximum(n, 1), np.nan)


def _take(y: np.ndarray, index: np.ndarray) -> np.ndarray:
    inside = (index >= 0) & (index < len(y))
    return np.where(inside, y[np.clip(index, 0, len(y) - 1)], np.nan)


def levels(y: np.ndarray, issues: np.ndarray) -> np.ndarray:
    return _window_means(y, issues, DAY)


def build(*, y: np.ndarray, first_hour: int, issues: np.ndarray, horizons: int,
          fuel: dict[str, np.ndarray], scale: np.ndarray | None, fuel_known: np.ndarray | None,
          mix: dict[str, np.ndarray] | None = None, generation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows for every (issue, horizon) pair, issue-major. Returns (X, level per row).

    `y`, every `fuel` array and `generation` (the actual total, NaN where unknown) share the grid
    starting at `first_hour`; `issues` are grid indices; `fuel_known[r]` False blanks the fuel
    features of row r (a forecast not yet published).
    """
    n_issues = len(issues)
    h = np.tile(np.arange(horizons), n_issues)
    i = np.repeat(issues, horizons)
    t = i + h
    level = np.repeat(levels(y, issues), horizons)
    level_week = np.repeat(_window_means(y, issues, WEEK), horizons)
    previous_day = np.repeat(_window_means(y, issues - DAY, DAY), horizons)
    abs_hour = first_hour + t
    columns = [
        h.astype(float),
        (abs_hour % 24).astype(float),
        ((abs_hour // 24 + 3) % 7).astype(float),  # 1970-01-01 was a Thursday: 0 = Monday
        ((first_hour + i) % 24).astype(float),
        level_week / level,
        level / previous_day,
        _take(y, i - 1) / level,
        np.repeat(_window_means(y, issues, 3), horizons) / level,
    ]
    lo = np.repeat(issues - DAY, horizons)
    window = np.stack([_take(y, lo + k) for k in range(DAY)], axis=1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN, as meant
        columns += [np.nanmin(window, axis=1) / level, np.nanmax(window, axis=1) / level]
        k0 = h // DAY + 1
        lags = np.stack([_take(y, t - DAY * (k0 + j)) / level for j in range(SAME_HOUR_LAGS)], axis=1)
        columns += list(lags.T)
        columns.append(np.nanmean(lags, axis=1))
    columns.append(_take(y, t - WEEK) / level)
    same_hour_index = t - DAY * k0
    for name in sorted(fuel):
        series = fuel[name]
        row_scale = np.repeat(scale, horizons) if scale is not None else np.nan
        now_value = _take(series, t) / row_scale
        change = now_value - _take(series, same_hour_index) / row_scale
        if fuel_known is not None:
            now_value = np.where(fuel_known, now_value, np.nan)
            change = np.where(fuel_known, change, np.nan)
        columns += [now_value, change]
    value_at = {name: columns[len(columns) - 2 * len(fuel) + 2 * k] for k, name in enumerate(sorted(fuel))}
    change_of = {name: columns[len(columns) - 2 * len(fuel) + 2 * k + 1] for k, name in enumerate(sorted(fuel))}
    renewable = [name for name in sorted(fuel) if name not in DEMAND_FORECASTS]
    if renewable:
        total = np.sum([value_at[name] for name in renewable], axis=0)
        columns += [total, np.sum([change_of[name] for name in renewable], axis=0)]
        for demand in sorted(set(fuel) & set(DEMAND_FORECASTS)):
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(value_at[demand] > 0, total / value_at[demand], np.nan)
            columns += [value_at[demand] - total, share]
        method_total = fuel.get("total_generation", generation)
        if method_total is not None:
            total_index = t if "total_generation" in fuel else same_hour_index
            method = _day_ahead_method(y=y, i=i, t=t, total_index=total_index, level=level,
                                       renewable=np.sum([fuel[name] for name in renewable], axis=0),
                                       total=method_total, generation=generation)
            columns.append(method if fuel_known is None else np.where(fuel_known, method, np.nan))
    for name in sorted(mix or {}):
        share = mix[name]  # type: ignore[index]
        columns += [_take(share, i - 1), np.repeat(_window_means(share, issues, DAY), horizons),
                    _take(share, same_hour_index)]
    return np.stack(columns, axis=1).astype(np.float32), level


def _day_ahead_method(*, y: np.ndarray, i: np.ndarray, t: np.ndarray, total_index: np.ndarray, level: np.ndarray,
                      renewable: np.ndarray, total: np.ndarray, generation: np.ndarray | None) -> np.ndarray:
    """The exporter's ENTSO-E day-ahead method (forecast.py) in ratios, relative to `level`: the last
    known intensity scaled by how the share the renewables leave to the rest of the fleet changes
    from the last known hour to the target hour (the renewables' own factors taken as zero). The
    last hour's share is that of the TSO's forecast of it in the actual total; the target hour's
    total is the total generation forecast, else the actual total of its same-hour lag."""
    now_total = _take(generation, i - 1) if generation is not None else _take(total, i - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rest_now = 1.0 - _take(renewable, i - 1) / now_total
        rest_then = np.clip(1.0 - _take(renewable, t) / _take(total, total_index), 0.0, 1.0)
        ratio = np.where(rest_now > 0.02, rest_then / rest_now, np.nan)
    return _take(y, i - 1) / level * ratio


def names(fuel_names: list[str], mix_names: list[str] | tuple[str, ...] = (), *, generation: bool = False) -> list[str]:
    out = list(BASE_NAMES)
    for name in sorted(fuel_names):
        out += [f"{name}_forecast", f"{name}_change"]
    if any(name not in DEMAND_FORECASTS for name in fuel_names):
        out += ["renewables_total", "renewables_total_change"]
        for demand in sorted(set(fuel_names) & set(DEMAND_FORECASTS)):
            out += [f"{demand}_residual", f"renewables_share_of_{demand}"]
        if generation or "total_generation" in fuel_names:
            out.append("day_ahead_method")
    for name in sorted(mix_names):
        out += [f"share_{name}_last", f"share_{name}_day", f"share_{name}_same_hour"]
    return out
