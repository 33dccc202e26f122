"""Every public name of CONTRACT.md in one place: metric names, label names, annotations.

Exporters, the action service, rules and dashboards all refer to these constants, so a
renamed metric is one edit here plus the files that the drift tests check.
"""

PREFIX = "gridshift"

# Label names.
ZONE = "zone"
SOURCE = "source"
BASIS = "basis"
HORIZON = "horizon"
DATASET = "dataset"
REASON = "reason"
PSR_TYPE = "psr_type"
PRODUCTION_TYPE = "production_type"
NAMESPACE = "namespace"
NODE = "node"
QUANTILE = "quantile"
DURATION = "duration"

# Forecast horizons of gridshift_carbon_intensity_forecast_grams_per_kwh (CONTRACT.md), seconds.
FORECAST_HORIZONS = (3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)

# Grid exporter metrics (names without the `_total` suffix of counters: prometheus-client adds it).
GENERATION_WATTS = f"{PREFIX}_generation_watts"
LOAD_WATTS = f"{PREFIX}_load_watts"
RENEWABLE_SHARE_RATIO = f"{PREFIX}_renewable_share_ratio"
CARBON_INTENSITY = f"{PREFIX}_carbon_intensity_grams_per_kwh"
CARBON_INTENSITY_FORECAST = f"{PREFIX}_carbon_intensity_forecast_grams_per_kwh"
GRID_DATA_TIMESTAMP = f"{PREFIX}_grid_data_timestamp_seconds"
GRID_FETCH_ERRORS = f"{PREFIX}_grid_fetch_errors"
# Forecast summaries for relative thresholds (gridshift additions, docs/metrics.md).
CARBON_INTENSITY_FORECAST_QUANTILE = f"{PREFIX}_carbon_intensity_forecast_quantile_grams_per_kwh"
CARBON_INTENSITY_BEST_WINDOW_START = f"{PREFIX}_carbon_intensity_best_window_start_timestamp_seconds"
CARBON_INTENSITY_BEST_WINDOW_MEAN = f"{PREFIX}_carbon_intensity_best_window_grams_per_kwh"

# Exporter self-health (documented in docs/metrics.md).
BUILD_INFO = f"{PREFIX}_build"
REFRESH_DURATION = f"{PREFIX}_grid_refresh_duration_seconds"
REFRESH_SUCCESS_TIMESTAMP = f"{PREFIX}_grid_last_successful_refresh_timestamp_seconds"
UPSTREAM_UP = f"{PREFIX}_grid_upstream_up"

# Source label values.
SOURCE_ENTSOE = "entsoe"
