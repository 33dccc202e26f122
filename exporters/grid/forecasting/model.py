"""Fit and predict: gradient-boosted median of the scale-free target, conformal P10/P90, persistence fallback.

The model (chosen by measurement, docs/benchmarks.md "Day-ahead forecaster"): one LightGBM
regressor per zone with the L1 objective on `log((y_t + 1) / (level + 1))`, the log ratio of the
target hour to the mean of the 24 hours before the issue (features.py), trained on the issue
hours `issue_stride_hours` apart back from the fit's `now` (daily, at now's hour of day, by default)
and every horizon 0..47. The history may carry the production per source (`History.mix`): each
source's share then enters the features too. The interval comes from the residuals of the same
model fitted without the last `calibration_days` and scored on them (split conformal quantiles per
12-hour horizon bucket, widened by `interval_scale`); on the same days, per bucket, the weight of
the model against persistence (the same hour on the latest known day) that minimises the absolute
log error is chosen (`blend`), and the residuals are those of the blend. Then the model is refitted
on everything.

Pure: no clock, no I/O. `now` is given; history at or after `now` is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from gridshift.exporters.grid.forecasting import features
from gridshift.exporters.grid.forecasting.clean import HOUR, Cleaning, Grid, to_hourly

BUCKET_HOURS = 12


@dataclass(frozen=True)
class History:
    """A zone's intensity: epoch seconds and gCO2eq/kWh (any order, gaps, repeats, NaN allowed)."""

    timestamps: Sequence[float]
    values: Sequence[float]
    # Optional: production per source (e.g. ENTSO-E A75 per PSR type) on the same timestamps, any
    # unit (only each source's share of their sum is used); NaN or negative where unknown.
    mix: Mapping[str, Sequence[float]] | None = None


@dataclass(frozen=True)
class Fuel:
    """The TSO's day-ahead forecasts as published (e.g. `wind`, `solar`, `load`, `total_generation`), past
    and ahead, on `timestamps`; optionally the zone's actual total generation on the same timestamps
    (NaN ahead), the scale the forecasts are measured against. Units cancel: only ratios are used."""

    timestamps: Sequence[float]
    forecasts: Mapping[str, Sequence[float]]
    generation: Sequence[float] | None = None


@dataclass(frozen=True)
class Settings:
    horizon_hours: int = 48
    min_history_days: int = 14  # less: persistence, flagged
    max_history_days: int = 365  # older history is not used
    issue_stride_hours: int = 24  # training issue hours: every this many hours back from the fit's `now`
    fuel_horizon_hours: int = 24  # in training, the TSO forecast is known this far ahead
    calibration_days: int = 28
    coverage: float = 0.80  # P10-P90
    trees: int = 200
    leaves: int = 15
    learning_rate: float = 0.07
    min_child_samples: int = 40
    feature_fraction: float = 0.8
    seed: int = 0
    threads: int = 1
    min_mix_share: float = 0.05  # sources of the mix with a smaller mean share are left out of the features (chosen on validation)
    blend: bool = False  # per 12-hour bucket, blend the model with persistence by a weight chosen on the calibration days (off: no gain on validation)
    interval_scale: float = 1.07  # the conformal offsets are multiplied by this (chosen on validation)

    def __post_init__(self) -> None:
        problems = [f"{name} must be positive" for name in ("horizon_hours", "min_history_days", "max_history_days",
                                                             "issue_stride_hours", "calibration_days", "trees", "leaves")
                    if getattr(self, name) <= 0]
        if not 0 < self.coverage < 1:
            problems.append("coverage must be between 0 and 1")
        if self.interval_scale <= 0:
            problems.append("interval_scale must be positive")
        if not 0 <= self.min_mix_share < 1:
            problems.append("min_mix_share must be in [0, 1)")
        if problems:
            raise ValueError("forecasting settings: " + "; ".join(problems))


@dataclass(frozen=True)
class ForecastPoint:
    start: int  # epoch seconds, the hour [start, start + 3600)
    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class Forecast:
    issued: int  # epoch seconds of the first hour forecast
    points: tuple[ForecastPoint, ...]
    fallback: bool  # True: persistence (same hour on the latest known day), not the model
    reason: str  # why the fallback, or "model"
    cleaning: Cleaning | None = None  # what the history lost on the way in


class Learner(Protocol):
    """What fit() needs of a regressor (the comparison in benchmarks tries others)."""

    def __call__(self, X: np.ndarray, z: np.ndarray, settings: Settings) -> Any: ...  # returns an object with .predict(X)


def lightgbm_learner(X: np.ndarray, z: np.ndarray, settings: Settings) -> Any:
    import lightgbm

    params = {
        "objective": "l1", "learning_rate": settings.learning_rate, "num_leaves": settings.leaves,
        "min_data_in_leaf": settings.min_child_samples, "feature_fraction": settings.feature_fraction,
        "bagging_fraction": 0.8, "bagging_freq": 1, "seed": settings.seed, "deterministic": True,
        "num_threads": settings.threads, "force_col_wise": True, "verbosity": -1, "max_bin": 63,
    }
    return lightgbm.train(params, lightgbm.Dataset(X, z, free_raw_data=True), num_boost_round=settings.trees)


def _epoch(moment: float | datetime) -> float:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return moment.timestamp()
    return float(moment)


def _fuel_grids(fuel: Fuel | None) -> tuple[dict[str, Grid], Grid | None]:
    if fuel is None:
        return {}, None
    grids = {}
    for name, values in fuel.forecasts.items():
        grid, _ = to_hourly(fuel.timestamps, values)
        if grid is not None:
            grids[name] = grid
    generation = to_hourly(fuel.timestamps, fuel.generation)[0] if fuel.generation is not None else None
    return grids, generation


def _mix_shares(timestamps: np.ndarray, mix: Mapping[str, Sequence[float]] | None) -> dict[str, Grid]:
    """Each source's hourly share of the sum of all sources (NaN where the source or the sum is unknown)."""
    if not mix:
        return {}
    grids = {}
    for name, values in mix.items():
        grid, _ = to_hourly(timestamps, np.asarray(values, dtype=float))
        if grid is not None:
            grids[name] = grid
    if not grids:
        return {}
    first = min(g.first_hour for g in grids.values())
    end = max(g.end_hour for g in grids.values())
    stack = np.stack([g.window(first, end) for g in grids.values()])
    total = np.nansum(stack, axis=0)
    total = np.where(np.isfinite(stack).any(axis=0) & (total > 0), total, np.nan)
    return {name: Grid(first, stack[k] / total) for k, name in enumerate(grids)}


def _merge(old: Grid | None, new: Grid | None) -> Grid | None:
    """The union of two grids, the newer one's values winning where it has them."""
    if old is None or new is None:
        return new if old is None else old
    first, end = min(old.first_hour, new.first_hour), max(old.end_hour, new.end_hour)
    values = old.window(first, end)
    fresh = new.window(first, end)
    values = np.where(np.isfinite(fresh), fresh, values)
    return Grid(first, values)


def _scale(*, fuel: dict[str, np.ndarray], generation: np.ndarray | None, issues: np.ndarray) -> np.ndarray | None:
    if not fuel:
        return None
    base = generation if generation is not None and np.isfinite(generation).any() else np.nansum(
        np.stack(list(fuel.values())), axis=0)
    scale = features._window_means(base, issues, features.WEEK)
    return np.where(scale > 0, scale, np.nan)


@dataclass
class Model:
    settings: Settings
    first_hour: int  # of the kept tail
    tail: np.ndarray  # the last weeks of hourly history, what the lags need
    fuel_tail: dict[str, Grid]
    generation_tail: Grid | None
    scaled_by_generation: bool
    regressor: Any = None  # None: the persistence fallback
    offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # per bucket: (low, high) log residual
    spread: tuple[float, float] = (-0.25, 0.25)  # persistence interval, log ratio
    fallback_reason: str = ""
    cleaning: Cleaning | None = None
    training_rows: int = 0
    mix_tail: dict[str, Grid] = field(default_factory=dict)  # shares of the sources the features use
    blend: np.ndarray = field(default_factory=lambda: np.ones(0))  # per bucket: the model's weight against persistence

    @property
    def fallback(self) -> bool:
        return self.regressor is None

    @property
    def size_bytes(self) -> int:
        """The fitted model as the exporter holds it: the booster's text form plus the kept tails."""
        booster = len(self.regressor.model_to_string()) if hasattr(self.regressor, "model_to_string") else 0
        tails = self.tail.nbytes + sum(g.values.nbytes for g in [*self.fuel_tail.values(), *self.mix_tail.values()])
        return booster + tails + (self.generation_tail.values.nbytes if self.generation_tail else 0)

    def predict(self, *, now: float | datetime, hours: int = 48, history: History | None = None,
                fuel: Fuel | None = None) -> Forecast:
        """Hourly P10/P50/P90 for the `hours` hours from the hour of `now`. Newer history or fuel
        forecasts (e.g. the day-ahead forecasts published since the fit) are merged in first."""
        if not 0 < hours <= self.settings.horizon_hours:
            raise ValueError(f"hours must be 1..{self.settings.horizon_hours}, not {hours}")
        now_hour = int(math.floor(_epoch(now) / HOUR))
        grid = Grid(self.first_hour, self.tail)
        cleaning = self.cleaning
        mix_grids = dict(self.mix_tail)
        if history is not None:
            newer, cleaning = to_hourly(history.timestamps, history.values)
            grid = _merge(grid, newer) or grid
            if history.mix and mix_grids:
                newer_mix = _mix_shares(np.asarray(history.timestamps, dtype=float), history.mix)
                mix_grids = {name: _merge(g, newer_mix.get(name)) or g for name, g in mix_grids.items()}
        fuel_grids, generation = _fuel_grids(fuel)
        fuel_grids = {name: _merge(self.fuel_tail.get(name), fuel_grids.get(name)) or fuel_grids[name]
                      for name in self.fuel_tail.keys() | fuel_grids.keys()}
        generation = _merge(self.generation_tail, generation)
        lo = now_hour - features.WEEK - 2 * features.DAY
        y = grid.window(lo, now_hour)
        reason = self.fallback_reason
        level = features.levels(y, np.array([len(y)]))[0]
        if not self.fallback and not np.isfinite(level):
            reason = "no history in the 24 hours before now"
        if self.fallback or reason:
            return self._persistence(y=y, lo=lo, now_hour=now_hour, hours=hours, reason=reason, cleaning=cleaning)
        end = now_hour + hours
        y_full = np.concatenate([y, np.full(hours, np.nan)])
        names = sorted(self.fuel_tail)
        fuel_arrays = {name: fuel_grids[name].window(lo, end) for name in names}
        gen = generation.window(lo, end) if (generation is not None and self.scaled_by_generation) else None
        issues = np.array([len(y)])
        scale = _scale(fuel=fuel_arrays, generation=gen, issues=issues)
        mix_arrays = {name: g.window(lo, now_hour) for name, g in mix_grids.items()}
        X, levels = features.build(y=y_full, first_hour=lo, issues=issues, horizons=hours, fuel=fuel_arrays,
                                   scale=scale, fuel_known=None, mix=mix_arrays, generation=gen)
        z = np.asarray(self.regressor.predict(X), dtype=float)
        base = np.log(levels + 1.0)
        bucket = np.minimum(np.arange(hours) // BUCKET_HOURS, len(self.offsets) - 1)
        if len(self.blend):
            z = _blended(z, _persistence_z(X, levels), self.blend[np.minimum(np.arange(hours) // BUCKET_HOURS, len(self.blend) - 1)])
        p50 = np.exp(z + base) - 1.0
        p10 = np.exp(z + base + self.offsets[bucket, 0]) - 1.0
        p90 = np.exp(z + base + self.offsets[bucket, 1]) - 1.0
        return Forecast(issued=now_hour * HOUR, points=_points(now_hour, p10, p50, p90), fallback=False,
                        reason="model", cleaning=cleaning)

    def _persistence(self, *, y: np.ndarray, lo: int, now_hour: int, hours: int, reason: str,
                     cleaning: Cleaning | None) -> Forecast:
        n = len(y)
        p50 = np.full(hours, np.nan)
        for h in range(hours):
            k = h // features.DAY + 1
            while np.isnan(p50[h]) and n + h - features.DAY * k >= 0 and k <= 8:
                p50[h] = y[n + h - features.DAY * k]
                k += 1
        known = y[np.isfinite(y)]
        if len(known) == 0:
            return Forecast(issued=now_hour * HOUR, points=(), fallback=True,
                            reason=(reason + "; " if reason else "") + "no history at all", cleaning=cleaning)
        p50 = np.where(np.isfinite(p50), p50, known[-1])
        low, high = self.spread
        return Forecast(issued=now_hour * HOUR, points=_points(now_hour, p50 * math.exp(low), p50, p50 * math.exp(high)),
                        fallback=True, reason=reason or "persistence", cleaning=cleaning)


def _points(now_hour: int, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray) -> tuple[ForecastPoint, ...]:
    p50 = np.maximum(p50, 0.0)
    p10 = np.clip(p10, 0.0, p50)
    p90 = np.maximum(p90, p50)
    return tuple(ForecastPoint((now_hour + h) * HOUR, float(a), float(b), float(c))
                 for h, (a, b, c) in enumerate(zip(p10, p50, p90)))


SAME_HOUR_0 = features.BASE_NAMES.index("same_hour_0")
BLEND_WEIGHTS = np.linspace(0.0, 1.0, 11)


def _persistence_z(X: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The target of persistence (the same hour on the latest known day), NaN where unknown."""
    return np.log((X[:, SAME_HOUR_0].astype(float) * level + 1.0) / (level + 1.0))


def _blended(z: np.ndarray, z_persistence: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(z_persistence), weight * z + (1 - weight) * z_persistence, z)


def _spread(y: np.ndarray, coverage: float) -> tuple[float, float]:
    """Day-over-day log ratio quantiles, the persistence interval; ±25 % without two days of data."""
    if len(y) > features.DAY:
        ratio = np.log(y[features.DAY:] + 1.0) - np.log(y[:-features.DAY] + 1.0)
        ratio = ratio[np.isfinite(ratio)]
        if len(ratio) >= features.DAY:
            tail = (1 - coverage) / 2
            return float(np.quantile(ratio, tail)), float(np.quantile(ratio, 1 - tail))
    return -0.25, 0.25


def training_rows(*, y: np.ndarray, first_hour: int, fuel: dict[str, np.ndarray], generation: np.ndarray | None,
                  settings: Settings, issue_from: int, issue_to: int, anchor: int,
                  mix: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """X, target z, level and horizon of every usable (issue, horizon) row with issues in [issue_from, issue_to)."""
    stride = settings.issue_stride_hours
    first_issue = issue_from + (anchor - issue_from) % stride
    issues = np.arange(first_issue, issue_to, stride)
    H = settings.horizon_hours
    if len(issues) == 0:
        width = len(features.names(list(fuel), list(mix or {}), generation=generation is not None))
        return np.zeros((0, width)), np.zeros(0), np.zeros(0), np.zeros(0, int)
    y_pad = np.concatenate([y, np.full(H, np.nan)])
    fuel_pad = {k: np.concatenate([v, np.full(max(0, len(y_pad) - len(v)), np.nan)])[:len(y_pad)] for k, v in fuel.items()}
    gen_pad = None if generation is None else np.concatenate([generation, np.full(H, np.nan)])[:len(y_pad)]
    scale = _scale(fuel=fuel_pad, generation=gen_pad, issues=issues)
    h = np.tile(np.arange(H), len(issues))
    X, level = features.build(y=y_pad, first_hour=first_hour, issues=issues, horizons=H, fuel=fuel_pad, scale=scale,
                              fuel_known=h < settings.fuel_horizon_hours, mix=mix, generation=gen_pad)
    target = y_pad[np.repeat(issues, H) + h]
    ok = np.isfinite(target) & np.isfinite(level)
    z = np.log((target + 1.0) / (level + 1.0))
    return X[ok], z[ok], level[ok], h[ok]


def fit(*, history: History, now: float | datetime, fuel: Fuel | None = None, settings: Settings | None = None,
        learner: Learner | None = None) -> Model:
    """A model from the history before `now` (and the TSO forecasts, past ones included, if given)."""
    settings = settings or Settings()
    learner = learner or lightgbm_learner
    now_hour = int(math.floor(_epoch(now) / HOUR))
    ts = np.asarray(history.timestamps, dtype=float)
    before = ts < now_hour * HOUR
    grid, cleaning = to_hourly(ts[before], np.asarray(history.values, dtype=float)[before])
    shares = _mix_shares(ts[before], {name: np.asarray(v, dtype=float)[before] for name, v in history.mix.items()}
                         if history.mix else None)
    fuel_grids, generation_grid = _fuel_grids(fuel)
    keep = features.WEEK + 3 * features.DAY
    if grid is None:
        return Model(settings, now_hour - keep, np.full(keep, np.nan), {}, None, False,
                     fallback_reason="no usable history", cleaning=cleaning)
    first = max(grid.first_hour, now_hour - settings.max_history_days * 24)
    y = grid.window(first, now_hour)
    known = int(np.isfinite(y).sum())
    tail_first = now_hour - keep
    fuel_tail = {name: Grid(tail_first, g.window(tail_first, g.end_hour)) for name, g in fuel_grids.items()
                 if g.end_hour > tail_first}
    generation_tail = (Grid(tail_first, generation_grid.window(tail_first, now_hour)) if generation_grid is not None else None)
    model = Model(settings, tail_first, grid.window(tail_first, now_hour), fuel_tail, generation_tail,
                  generation_grid is not None, spread=_spread(y, settings.coverage), cleaning=cleaning)
    span_days = (now_hour - grid.first_hour) / 24
    if span_days < settings.min_history_days or known < settings.min_history_days * 24 * 0.5:
        model.fallback_reason = (f"{known} hours of history over {span_days:.1f} days, under the "
                                 f"{settings.min_history_days} days a model needs: persistence")
        return model
    fuel_arrays = {name: g.window(first, now_hour + settings.horizon_hours) for name, g in fuel_grids.items()}
    fuel_arrays = {name: a for name, a in fuel_arrays.items() if np.isfinite(a).sum() > features.WEEK}
    generation = generation_grid.window(first, now_hour + settings.horizon_hours) if generation_grid is not None else None
    model.fuel_tail = {name: model.fuel_tail[name] for name in fuel_arrays if name in model.fuel_tail}
    mix_arrays = {name: g.window(first, now_hour) for name, g in sorted(shares.items())}
    mix_arrays = {name: a for name, a in mix_arrays.items()
                  if np.isfinite(a).sum() > features.WEEK and np.nanmean(a) >= settings.min_mix_share}
    model.mix_tail = {name: Grid(tail_first, shares[name].window(tail_first, now_hour)) for name in mix_arrays}
    start = features.WEEK + features.DAY
    n = len(y)
    cal_start = n - settings.calibration_days * 24
    common = dict(y=y, first_hour=first, fuel=fuel_arrays, generation=generation, settings=settings, anchor=n, mix=mix_arrays)
    # Calibration: fit on rows whose targets all precede the last calibration_days, score on those days.
    X_a, z_a, _, _ = training_rows(**common, issue_from=start, issue_to=cal_start - settings.horizon_hours + 1)
    X_c, z_c, level_c, h_c = training_rows(**common, issue_from=max(start, cal_start), issue_to=n)
    buckets = math.ceil(settings.horizon_hours / BUCKET_HOURS)
    blend_weights = np.ones(0)
    if len(z_a) < 2000 or len(z_c) < 200:
        offsets = np.tile(np.array(model.spread), (buckets, 1))
    else:
        predicted = np.asarray(learner(X_a, z_a, settings).predict(X_c), dtype=float)
        bucket_c = np.minimum(h_c // BUCKET_HOURS, buckets - 1)
        if settings.blend:
            z_p = _persistence_z(X_c, level_c)
            blend = np.ones(buckets)
            for b in range(buckets):
                rows = bucket_c == b
                if rows.sum() >= 50:
                    errors = [np.mean(np.abs(z_c[rows] - _blended(predicted[rows], z_p[rows], w))) for w in BLEND_WEIGHTS]
                    blend[b] = BLEND_WEIGHTS[int(np.argmin(errors))]
            predicted = _blended(predicted, z_p, blend[bucket_c])
            blend_weights = blend
        residual = z_c - predicted
        tail = (1 - settings.coverage) / 2
        offsets = np.zeros((buckets, 2))
        for b in range(buckets):
            r = residual[bucket_c == b]
            r = r if len(r) >= 50 else residual
            offsets[b] = np.quantile(r, tail), np.quantile(r, 1 - tail)
        offsets *= settings.interval_scale
    X, z, _, _ = training_rows(**common, issue_from=start, issue_to=n)
    if len(z) < 500:
        model.fallback_reason = f"only {len(z)} training rows: persistence"
        return model
    model.regressor = learner(X, z, settings)
    model.offsets = offsets
    model.blend = blend_weights
    model.training_rows = len(z)
    return model
