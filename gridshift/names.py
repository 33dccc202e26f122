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
CARBON_INTENSITY_THRESHOLD = f"{PREFIX}_carbon_intensity_threshold_grams_per_kwh"
# gridshift's own forecaster (source="forecaster"; gridshift additions, docs/metrics.md).
CARBON_INTENSITY_FORECAST_BAND = f"{PREFIX}_carbon_intensity_forecast_band_grams_per_kwh"
FORECASTER_FALLBACK = f"{PREFIX}_forecaster_fallback"
FORECASTER_ISSUED = f"{PREFIX}_forecaster_issued_timestamp_seconds"
BACKFILL_DAYS = f"{PREFIX}_grid_backfill_days"
BACKFILL_ERRORS = f"{PREFIX}_grid_backfill_errors"

# Exporter self-health (documented in docs/metrics.md).
BUILD_INFO = f"{PREFIX}_build"
REFRESH_DURATION = f"{PREFIX}_grid_refresh_duration_seconds"
REFRESH_SUCCESS_TIMESTAMP = f"{PREFIX}_grid_last_successful_refresh_timestamp_seconds"
UPSTREAM_UP = f"{PREFIX}_grid_upstream_up"

# Source label values.
SOURCE_ENTSOE = "entsoe"

# Opt-in annotations and the state record (CONTRACT.md "Opt-in annotations").
ANNOTATION_PREFIX = "gridshift.io/"
ANNOTATION_ACTION = "gridshift.io/action"
ANNOTATION_LEVEL = "gridshift.io/level"
ANNOTATION_MIN_REPLICAS = "gridshift.io/min-replicas"
ANNOTATION_SCALE_FACTOR = "gridshift.io/scale-factor"
ANNOTATION_MAX_DELAY = "gridshift.io/max-delay"
ANNOTATION_ZONE = "gridshift.io/zone"
ANNOTATION_ON_GREEN = "gridshift.io/on-green"
ANNOTATION_MAX_REPLICAS = "gridshift.io/max-replicas"
ANNOTATION_EXCLUDE = "gridshift.io/exclude"
ANNOTATION_INTERRUPTIBLE = "gridshift.io/interruptible"
ANNOTATION_FALLBACK = "gridshift.io/fallback"  # gridshift addition: what `migrate` does with no greener zone
ANNOTATION_STATE = "gridshift.io/state"
# Plans (gridshift additions, docs/actions.md "Plans"): a Job's or CronJob run's expected length,
# its absolute deadline, and a Job created suspended that gridshift starts at its planned window.
ANNOTATION_DURATION = "gridshift.io/duration"
ANNOTATION_DEADLINE = "gridshift.io/deadline"
ANNOTATION_START = "gridshift.io/start"
# Elastic work (gridshift additions, docs/actions.md "Elastic work"): how throughput grows with
# width (`linear` or the marginal capacity of each added replica), and the replica-hours a worker
# Deployment or StatefulSet must deliver by its deadline.
ANNOTATION_SCALING = "gridshift.io/scaling"
ANNOTATION_WORK = "gridshift.io/work"
# Bookkeeping gridshift writes itself: the alert a max-delay restore was for (not held again for it),
# and a Job's time held by its earlier holds (its max-delay is a budget over all of them).
ANNOTATION_RELEASED = "gridshift.io/released"
ANNOTATION_HELD_SECONDS = "gridshift.io/held-seconds"
NODE_ZONE_LABEL = "gridshift.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
FIELD_MANAGER = "gridshift"

# Alert names and labels (CONTRACT.md "Alerts").
ALERT_HIGH = "GridCarbonIntensityHigh"
ALERT_CRITICAL = "GridCarbonIntensityCritical"
ALERT_LOW = "GridCarbonIntensityLow"
ALERT_STALE = "GridCarbonDataStale"
ALERT_WINDOW = "GridCarbonGreenerWindowAhead"  # gridshift addition: level="window" (docs/actions.md "Plans")
LEVEL = "level"

# Action service metrics.
ACTIONS = f"{PREFIX}_actions"
HELD_WORKLOADS = f"{PREFIX}_held_workloads"
WEBHOOK_REQUESTS = f"{PREFIX}_webhook_requests"
RECONCILE_DURATION = f"{PREFIX}_reconcile_duration_seconds"
RECONCILE_ERRORS = f"{PREFIX}_reconcile_errors"
LAST_RECONCILE = f"{PREFIX}_last_reconcile_timestamp_seconds"
# High availability and pacing (gridshift additions, docs/metrics.md).
LEADER = f"{PREFIX}_actions_leader"
KUBE_WRITES = f"{PREFIX}_actions_kube_writes"
KUBE_WRITE_WAIT = f"{PREFIX}_actions_kube_write_wait_seconds"
RESTORES_WAITING = f"{PREFIX}_actions_restores_waiting"
ACTIVE_ALERTS = f"{PREFIX}_active_alerts"
# Plans (gridshift additions, docs/metrics.md).
PLANNED_RELEASE = f"{PREFIX}_planned_release_timestamp_seconds"
PLANNED_INTENSITY = f"{PREFIX}_planned_intensity_grams_per_kwh"
PLANNED_REPLICAS = f"{PREFIX}_planned_replicas"
