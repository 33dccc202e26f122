"""The CarbonCast/DACF protocol: one forecast issued at 00:00 UTC of each test day, trained only on
what was known then; day 1 = its first 24 hours, day 2 = hours 25-48; MAPE per day (mean of the
hourly absolute percentage errors, hours whose actual is missing or not positive left out, a day
with under 20 scored hours left out), summarised over the days as mean, median, p90 and p95
(linear interpolation); the forecaster's P10-P90 coverage over every scored hour of both days.

The forecaster is refitted every `refit_days` days with a rolling origin (fit at the issue hour of
that day on everything before it); between refits it predicts from the same fit with the newer
history and the day's TSO forecasts merged in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks.forecast import tso_method
from benchmarks.forecast.data import Baseline, Emissions, Series
from gridshift.exporters.grid.forecasting import Fuel, History, Settings, fit
from gridshift.exporters.grid.forecasting.model import Learner

DAY = 24
MIN_HOURS = 20


def daily_mape(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Per row (a day of 24 hours): the MAPE in percent, NaN for a day with too few scored hours."""
    ok = np.isfinite(actual) & (actual > 0) & np.isfinite(forecast)
    with np.errstate(invalid="ignore", divide="ignore"):
        ape = np.where(ok, np.abs(forecast - actual) / np.where(ok, actual, 1.0), 0.0)
        mape = 100 * ape.sum(axis=1) / ok.sum(axis=1)
    return np.where(ok.sum(axis=1) >= MIN_HOURS, mape, np.nan)


def summary(mape: np.ndarray) -> dict[str, float | int]:
    scored = mape[np.isfinite(mape)]
    if len(scored) == 0:
        return {"mean": None, "median": None, "p90": None, "p95": None, "days": 0}
    return {"mean": round(float(scored.mean()), 3), "median": round(float(np.median(scored)), 3),
            "p90": round(float(np.percentile(scored, 90)), 3), "p95": round(float(np.percentile(scored, 95)), 3),
            "days": int(len(scored))}


@dataclass
class Result:
    forecasts: dict[str, np.ndarray] = field(default_factory=dict)  # model -> (days, 48)
    p10: np.ndarray | None = None
    p90: np.ndarray | None = None
    fit_seconds: list[float] = field(default_factory=list)
    model_bytes: list[int] = field(default_factory=list)
    fallbacks: int = 0


def _fuel(*, fuel: dict[str, Series], generation: Series | None, first: int, end: int, history_end: int) -> Fuel | None:
    if not fuel:
        return None
    hours = np.arange(first, end)
    forecasts = {name: series.lookup(hours) for name, series in fuel.items()}
    gen = None
    if generation is not None:
        gen = generation.lookup(hours)
        gen[hours >= history_end] = np.nan
    return Fuel(timestamps=hours * 3600, forecasts=forecasts, generation=gen)


def run(*, emissions: Emissions, fuel: dict[str, Series], issues: np.ndarray, baselines: list[Baseline],
        refit_days: int, settings: Settings, learner: Learner | None = None, fuel_hours: int = DAY,
        progress: str = "", use_mix: bool = True) -> tuple[np.ndarray, Result]:
    """Actuals (days, 48) and every model's forecasts for the issue hours (epoch hours at 00:00 UTC).
    With `use_mix` the history carries the production per source where the file has it."""
    y = emissions.intensity
    targets = issues[:, None] + np.arange(2 * DAY)[None, :]
    actual = y.lookup(targets)
    result = Result()
    ts_all, values_all = y.hours * 3600, y.values
    mix_all = {name: series.lookup(y.hours) for name, series in emissions.mix.items()} if use_mix else {}

    def history(rows: np.ndarray) -> History:
        return History(ts_all[rows], values_all[rows], {name: v[rows] for name, v in mix_all.items()} or None)
    forecast = np.full(targets.shape, np.nan)
    p10, p90 = forecast.copy(), forecast.copy()
    model = None
    history_first = int(y.hours[0])
    for d, issue in enumerate(issues):
        issue = int(issue)
        before = y.hours < issue
        if model is None or d % refit_days == 0:
            began = time.perf_counter()
            model = fit(history=history(before), now=issue * 3600,
                        fuel=_fuel(fuel=fuel, generation=emissions.generation, first=history_first,
                                   end=issue + fuel_hours, history_end=issue),
                        settings=settings, learner=learner)
            result.fit_seconds.append(time.perf_counter() - began)
            result.model_bytes.append(model.size_bytes)
        recent = before & (y.hours >= issue - 10 * DAY)
        out = model.predict(now=issue * 3600, hours=2 * DAY, history=history(recent),
                            fuel=_fuel(fuel=fuel, generation=emissions.generation, first=issue - 10 * DAY,
                                       end=issue + fuel_hours, history_end=issue))
        result.fallbacks += out.fallback
        for h, point in enumerate(out.points):
            forecast[d, h], p10[d, h], p90[d, h] = point.p50, point.p10, point.p90
    result.forecasts["forecaster"] = forecast
    result.p10, result.p90 = p10, p90
    result.forecasts["persistence_24h"] = np.concatenate(
        [y.lookup(targets[:, :DAY] - DAY), y.lookup(targets[:, DAY:] - 2 * DAY)], axis=1)
    method = tso_method.forecasts(emissions=emissions, fuel=fuel, issues=issues)
    if method is not None:
        result.forecasts[tso_method.NAME] = method
    for baseline in baselines:
        values = np.full(targets.shape, np.nan)
        for d, issue in enumerate(issues):
            window = baseline.windows.get(int(issue))
            if window is not None:
                n = min(len(window), 2 * DAY)
                values[d, :n] = window[:n]
        result.forecasts[baseline.name] = values
    return actual, result


def scores(actual: np.ndarray, result: Result) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name, forecast in result.forecasts.items():
        entry = {"day1": summary(daily_mape(actual[:, :DAY], forecast[:, :DAY])),
                 "day2": summary(daily_mape(actual[:, DAY:], forecast[:, DAY:]))}
        if name == "forecaster":
            ok = np.isfinite(actual) & np.isfinite(result.p10)
            inside = (actual >= result.p10) & (actual <= result.p90)
            entry["coverage_p10_p90"] = round(float(inside[ok].mean()), 4) if ok.any() else float("nan")
            ok1 = ok[:, :DAY]
            entry["coverage_p10_p90_day1"] = round(float(inside[:, :DAY][ok1].mean()), 4) if ok1.any() else float("nan")
            entry["fit_seconds_max"] = round(max(result.fit_seconds), 3)
            entry["fit_seconds_mean"] = round(float(np.mean(result.fit_seconds)), 3)
            entry["fits"] = len(result.fit_seconds)
            entry["model_bytes_max"] = max(result.model_bytes)
            entry["fallback_days"] = result.fallbacks
        out[name] = entry
    return out
