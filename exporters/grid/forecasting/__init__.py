"""Day-ahead carbon-intensity forecasts with P10/P50/P90, a pure library (no I/O, no clock).

    model = fit(history=History(timestamps, values), now=now, fuel=Fuel(...) or None)
    forecast = model.predict(now=now, hours=48)   # Forecast(points=(ForecastPoint(start, p10, p50, p90), ...),
                                                  #          fallback=bool, reason=str, cleaning=Cleaning)

clean.py grids and cleans the input, features.py builds the scale-free features, model.py fits
LightGBM and calibrates the interval. Chosen and scored in docs/benchmarks.md ("Day-ahead forecaster").
"""

from gridshift.exporters.grid.forecasting.clean import Cleaning
from gridshift.exporters.grid.forecasting.model import Forecast, ForecastPoint, Fuel, History, Model, Settings, fit

__all__ = ["Cleaning", "Forecast", "ForecastPoint", "Fuel", "History", "Model", "Settings", "fit"]
