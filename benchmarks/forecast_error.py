"""Forecast error baselines on the recorded real intensity traces.

Issue 4 asks for the error of gridshift's ENTSO-E day-ahead forecast against a persistence
baseline ("same hour yesterday"). The forecast needs, for one zone and the same days, ENTSO-E's
actual generation per type (A75), its day-ahead total generation (A71) and wind and solar
(A69) forecasts; the recorded payloads in ../shared/data/entsoe are for other zones and other
days, so that error cannot be measured on recorded data yet. What can be measured, and is here:
the baselines a forecast must beat, on every real year-long trace in ../shared/data/intensity.

- persistence 24 h: the value at the same time yesterday (the issue's baseline);
- persistence 1 h: the value an hour ago (what "no forecast" amounts to for the next hour);
- weekly profile: the mean of the same time of day over the previous 7 days.

Errors are over every point that has the inputs it needs (gaps are skipped, not filled).
Run: .venv/bin/python -m benchmarks.forecast_error
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from gridshift.exporters.grid.traces import Trace, load_trace
from gridshift.recordings import shared_data_dir

HOUR, DAY = 3600, 86400
RESULTS = Path(__file__).resolve().parent / "results"

Predictor = Callable[[dict[int, float], int], float | None]


def persistence(lag: int) -> Predictor:
    def predict(values: dict[int, float], moment: int) -> float | None:
        return values.get(moment - lag)

    return predict


def weekly_profile(values: dict[int, float], moment: int) -> float | None:
    history = [values.get(moment - k * DAY) for k in range(1, 8)]
    known = [v for v in history if v is not None]
    return sum(known) / len(known) if len(known) >= 5 else None


PREDICTORS: dict[str, tuple[Predictor, str]] = {
    "persistence 24 h (same time yesterday)": (persistence(DAY), "24h"),
    "weekly profile (mean of 7 previous days)": (weekly_profile, "24h"),
    "persistence 1 h (an hour ago)": (persistence(HOUR), "1h"),
}


@dataclass(frozen=True)
class Score:
    trace: str
    zone: str
    predictor: str
    horizon: str
    points: int
    mae: float
    rmse: float
    mape_percent: float
    mean_intensity: float


def score(trace: Trace, name: str, predictor: Predictor, horizon: str) -> Score:
    values = dict(trace.points)
    errors, relative, actuals = [], [], []
    for moment, actual in trace.points:
        predicted = predictor(values, moment)
        if predicted is None:
            continue
        errors.append(predicted - actual)
        actuals.append(actual)
        if actual > 0:
            relative.append(abs(predicted - actual) / actual)
    n = len(errors)
    return Score(
        trace=Path(trace.path).name, zone=trace.zone or "-", predictor=name, horizon=horizon, points=n,
        mae=sum(abs(e) for e in errors) / n, rmse=math.sqrt(sum(e * e for e in errors) / n),
        mape_percent=100 * sum(relative) / len(relative), mean_intensity=sum(actuals) / n,
    )


def run(folder: Path) -> list[Score]:
    scores = []
    for path in sorted(folder.glob("*.csv")):
        trace = load_trace(path)
        scores += [score(trace, name, predictor, horizon) for name, (predictor, horizon) in PREDICTORS.items()]
    return scores


def table(scores: list[Score]) -> str:
    header = f"{'trace':44} {'predictor':42} {'points':>7} {'MAE':>7} {'RMSE':>7} {'MAPE %':>7} {'mean':>6}"
    lines = [header, "-" * len(header)]
    for s in scores:
        lines.append(f"{s.trace:44} {s.predictor:42} {s.points:7d} {s.mae:7.1f} {s.rmse:7.1f} {s.mape_percent:7.1f} {s.mean_intensity:6.0f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir() / "intensity")
    args = parser.parse_args()
    began = time.perf_counter()
    scores = run(args.data)
    print(table(scores))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"forecast_error-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps([asdict(s) for s in scores], indent=2))
    print(f"\ntook {time.perf_counter() - began:.1f} s; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
