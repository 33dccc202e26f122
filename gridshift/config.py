"""One YAML configuration file, validated once at start-up.

The file maps onto nested frozen dataclasses. Loading gathers every problem (unknown key,
wrong type, out-of-range value, unknown zone, missing token) and fails once with a message
that names each key and its reason. Secrets never live in the file: they come from the
environment or `*_FILE` (see gridshift.secrets).
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from gridshift import secrets, zones
from gridshift.checks import http_url, metrics_port, port_number, positive
from gridshift.power_settings import PowerSettings
from gridshift.serving_settings import ServingSettings
from gridshift.secrets import Secret
from gridshift.zone_settings import ClusterSettings


class ConfigError(Exception):
    """The configuration is invalid. `problems` lists each as `key.path: reason`."""

    def __init__(self, problems: list[str], source: str = "configuration") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source} is invalid:\n{lines}")


@dataclass(frozen=True)
class RefreshIntervals:
    actual_seconds: float = 300.0
    forecast_seconds: float = 3600.0

    def check(self, path: str) -> list[str]:
        return positive(self, path, "actual_seconds", "forecast_seconds")


@dataclass(frozen=True)
class Backoff:
    initial_seconds: float = 30.0
    max_seconds: float = 1800.0

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "initial_seconds", "max_seconds")
        if not problems and self.max_seconds < self.initial_seconds:
            problems.append(f"{path}.max_seconds: must be >= initial_seconds ({self.initial_seconds})")
        return problems


@dataclass(frozen=True)
class EntsoeSettings:
    zones: tuple[str, ...] = ()
    endpoint: str = "https://web-api.tp.entsoe.eu/api"
    timeout_seconds: float = 30.0
    lookback_hours: float = 24.0
    forecast_hours: float = 48.0
    # A production type that reported within this window is waited for before an interval
    # counts as complete; one silent for longer has vanished and no longer holds the mix back.
    vanished_after_seconds: float = 3 * 3600.0
    refresh: RefreshIntervals = field(default_factory=RefreshIntervals)
    # Zone -> the zones it imports from, for the consumption basis (cross-border flows, A11).
    neighbours: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    api_key: Secret | None = field(default=None, metadata={"secret": secrets.ENTSOE_API_KEY})
    # Every ENTSO-E request of the exporter (refresh, backfill, flows) in any minute; ENTSO-E bans above 400.
    requests_per_minute: int = 300

    def check(self, path: str) -> list[str]:
        problems = [zones.check_entsoe_zone(zone, f"{path}.zones") for zone in self.zones]
        for zone, others in self.neighbours.items():
            if zone not in self.zones:
                problems.append(f"{path}.neighbours.{zone}: not one of {path}.zones")
            problems += [zones.check_entsoe_zone(other, f"{path}.neighbours.{zone}") for other in others]
        problems = [problem for problem in problems if problem]
        if len(set(self.zones)) != len(self.zones):
            problems.append(f"{path}.zones: lists a zone twice")
        problems += positive(self, path, "timeout_seconds", "lookback_hours", "forecast_hours", "vanished_after_seconds",
                             "requests_per_minute")
        if self.requests_per_minute > 400:
            problems.append(f"{path}.requests_per_minute: ENTSO-E bans a token for 10 minutes above 400 a minute")
        problems += http_url(self.endpoint, f"{path}.endpoint")
        needs_token = self.zones or self.neighbours
        if needs_token and not self.api_key:
            problems.append(
                f"{path}.zones: ENTSO-E zones are configured but no API token is set: "
                f"set {secrets.ENTSOE_API_KEY} or {secrets.ENTSOE_API_KEY}_FILE"
            )
        return problems


@dataclass(frozen=True)
class UkGridZone:
    """National when neither is set; else one region, by id (1..17) or by outward postcode."""

    region_id: int = 0
    postcode: str = ""

    def check(self, path: str) -> list[str]:
        if self.region_id and self.postcode:
            return [f"{path}: set region_id or postcode, not both"]
        if not 0 <= self.region_id <= 17:
            return [f"{path}.region_id: must be between 1 and 17, got {self.region_id}"]
        return []


@dataclass(frozen=True)
class UkGridSettings:
    zones: Mapping[str, UkGridZone] = field(default_factory=lambda: MappingProxyType({}))
    endpoint: str = "https://api.carbonintensity.org.uk"
    timeout_seconds: float = 30.0
    refresh_seconds: float = 900.0

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "timeout_seconds", "refresh_seconds") + http_url(self.endpoint, f"{path}.endpoint")
        problems += [f"{path}.zones.{zone}: UK zones are named GB or GB-<name>" for zone in self.zones
                     if zone != "GB" and not zone.startswith("GB-")]
        return problems


@dataclass(frozen=True)
class ElectricityMapsSettings:
    zones: tuple[str, ...] = ()
    endpoint: str = "https://api.electricitymap.org/v3"
    timeout_seconds: float = 30.0
    refresh_seconds: float = 900.0
    token: Secret | None = field(default=None, metadata={"secret": secrets.ELECTRICITYMAPS_TOKEN})

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "timeout_seconds", "refresh_seconds") + http_url(self.endpoint, f"{path}.endpoint")
        if self.zones and not self.token:
            problems.append(
                f"{path}.zones: Electricity Maps zones are configured but no API token is set: "
                f"set {secrets.ELECTRICITYMAPS_TOKEN} or {secrets.ELECTRICITYMAPS_TOKEN}_FILE"
            )
        return problems


@dataclass(frozen=True)
class ReplayZone:
    file: str = ""
    speed: float = 1.0  # trace seconds per wall-clock second
    start: str = ""  # ISO date-time in the trace mapped onto "now"; default: the trace's first point

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "speed")
        if not self.file:
            problems.append(f"{path}.file: required")
        elif not Path(self.file).is_file():
            problems.append(f"{path}.file: no such file {self.file!r}")
        if self.start:
            try:
                datetime.fromisoformat(self.start.replace("Z", "+00:00"))
            except ValueError:
                problems.append(f"{path}.start: not an ISO-8601 time: {self.start!r}")
        return problems


@dataclass(frozen=True)
class ReplaySettings:
    zones: Mapping[str, ReplayZone] = field(default_factory=lambda: MappingProxyType({}))
    refresh_seconds: float = 10.0

    def check(self, path: str) -> list[str]:
        return positive(self, path, "refresh_seconds")


@dataclass(frozen=True)
class StaticSettings:
    zones: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def check(self, path: str) -> list[str]:
        return [f"{path}.zones.{zone}: must be >= 0, got {value}" for zone, value in self.zones.items() if value < 0]


@dataclass(frozen=True)
class ForecastSettings:
    # The coming window whose quantiles relative thresholds compare against.
    window_hours: float = 24.0
    quantiles: tuple[float, ...] = (0.25, 0.5, 0.75)
    # Lengths of the greenest windows published as their start time.
    best_window_hours: tuple[float, ...] = (1.0, 4.0)

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "window_hours")
        problems += [f"{path}.quantiles: {q} is not between 0 and 1" for q in self.quantiles if not 0 < q < 1]
        problems += [f"{path}.best_window_hours: {h} must be > 0 and <= window_hours"
                     for h in self.best_window_hours if not 0 < h <= self.window_hours]
        return problems


@dataclass(frozen=True)
class ForecasterSettings:
    """gridshift's own forecast of every zone but static ones (docs/intensity.md "Forecaster")."""

    enabled: bool = True
    issue_seconds: float = 300.0  # re-issued from the newest history this often (cheap)
    history_days: int = 365  # ENTSO-E days backfilled at start (A75, A69, A65, A71), newest first: the year the model is benchmarked with
    history_folder: str = ""  # a volume for the backfilled days: a restart resumes; "" keeps them in memory
    requests_per_minute: int = 100  # the backfill's share of grid.entsoe.requests_per_minute

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "issue_seconds", "history_days", "requests_per_minute")
        if not problems and self.requests_per_minute > 400:
            problems.append(f"{path}.requests_per_minute: ENTSO-E bans a token for 10 minutes above 400 a minute")
        return problems


QUANTILE_THRESHOLD = re.compile(r"^p(\d{1,2})$")


@dataclass(frozen=True)
class ZoneThresholds:
    """Per level: gCO2eq/kWh, or `pNN`: the NN-th percentile of the coming forecast window (relative)."""

    high: float | str | None = None
    critical: float | str | None = None
    low: float | str | None = None

    def check(self, path: str) -> list[str]:
        problems = []
        for level in ("high", "critical", "low"):
            value = getattr(self, level)
            if isinstance(value, str) and not QUANTILE_THRESHOLD.match(value):
                problems.append(f"{path}.{level}: expected gCO2eq/kWh or a percentile like p75, got {value!r}")
            elif isinstance(value, float) and value < 0:
                problems.append(f"{path}.{level}: must be >= 0, got {value}")
        high, critical, low = self.high, self.critical, self.low
        if isinstance(high, float) and isinstance(critical, float) and critical < high:
            problems.append(f"{path}.critical: must be >= high ({high})")
        if isinstance(high, float) and isinstance(low, float) and low > high:
            problems.append(f"{path}.low: must be <= high ({high})")
        return problems


@dataclass(frozen=True)
class GridSettings:
    entsoe: EntsoeSettings = field(default_factory=EntsoeSettings)
    ukgrid: UkGridSettings = field(default_factory=UkGridSettings)
    electricitymaps: ElectricityMapsSettings = field(default_factory=ElectricityMapsSettings)
    replay: ReplaySettings = field(default_factory=ReplaySettings)
    static: StaticSettings = field(default_factory=StaticSettings)
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    forecaster: ForecasterSettings = field(default_factory=ForecasterSettings)
    # gCO2eq/kWh per ENTSO-E psrType (B01..B25), overriding the built-in lifecycle factors.
    emission_factors: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # Data older than this is not exported as current (CONTRACT.md: staleness).
    staleness_limit_seconds: float = 3 * 3600.0
    max_concurrent_requests: int = 4
    backoff: Backoff = field(default_factory=Backoff)
    # Zone (or `default`) -> thresholds, exported as gridshift_carbon_intensity_threshold_grams_per_kwh
    # for the alert rules. Relative ones (`p75`) follow the forecast window's quantile.
    thresholds: Mapping[str, ZoneThresholds] = field(default_factory=lambda: MappingProxyType({}))

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "staleness_limit_seconds", "max_concurrent_requests")
        quantiles = {f"p{round(q * 100)}" for q in self.forecast.quantiles}
        for zone, levels in self.thresholds.items():
            for level in ("high", "critical", "low"):
                value = getattr(levels, level)
                if isinstance(value, str) and QUANTILE_THRESHOLD.match(value) and value not in quantiles:
                    problems.append(f"{path}.thresholds.{zone}.{level}: {value} is not one of grid.forecast.quantiles "
                                    f"({', '.join(sorted(quantiles))})")
        for psr_type, value in self.emission_factors.items():
            if not re.fullmatch(r"B\d\d", psr_type):
                problems.append(f"{path}.emission_factors.{psr_type}: not an ENTSO-E production type (B01..B25)")
            elif value < 0:
                problems.append(f"{path}.emission_factors.{psr_type}: must be >= 0, got {value}")
        return problems


DEFAULT_PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class LeaderElectionSettings:
    """One replica acts at a time (a coordination.k8s.io Lease); the others serve webhooks and keep
    their books from Alertmanager, ready to take over (docs/actions.md "High availability")."""

    enabled: bool = False
    lease_name: str = "gridshift-actions"
    lease_namespace: str = ""  # empty: the pod's own ($POD_NAMESPACE)
    lease_duration_seconds: float = 15.0  # a leader unheard of this long is replaced
    renew_deadline_seconds: float = 10.0  # a leader that cannot renew within this stops acting
    retry_period_seconds: float = 2.0

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "lease_duration_seconds", "renew_deadline_seconds", "retry_period_seconds")
        if not problems and not self.retry_period_seconds < self.renew_deadline_seconds < self.lease_duration_seconds:
            problems.append(f"{path}: needs retry_period_seconds < renew_deadline_seconds < lease_duration_seconds")
        if not self.lease_name:
            problems.append(f"{path}.lease_name: must not be empty")
        return problems


@dataclass(frozen=True)
class ActionsSettings:
    listen_address: str = "0.0.0.0"
    port: int = 9600
    metrics_port: int = 0  # set: /metrics is served there alone, not beside the webhook on `port`
    # Alertmanager's API v2, asked which alerts are active at start and every reconcile.
    alertmanager_url: str = ""
    # The grid exporter's JSON API: current intensities, for choosing where to migrate.
    exporter_url: str = ""
    reconcile_seconds: float = 60.0
    request_timeout_seconds: float = 10.0
    dry_run: bool = False
    # Never touched, whatever their annotations; the release's own namespace is added at start.
    protected_namespaces: tuple[str, ...] = DEFAULT_PROTECTED_NAMESPACES
    # Set (the chart sets it from rbac.targetNamespaces): only these namespaces are read and acted
    # on, each with namespaced requests, so no cluster-wide read of workloads or pods is needed.
    # Empty: every namespace.
    target_namespaces: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    workers: int = 4
    decisions_kept: int = 1000
    # Karmada member cluster -> its zone. Set, `migrate` retargets the PropagationPolicy that
    # places a workload to the greenest member cluster (Karmada moves it; gridshift decides).
    karmada_clusters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Plans (docs/actions.md "Plans"): a Job's or CronJob run's length when neither its
    # `gridshift.io/duration`, its earlier runs nor its activeDeadlineSeconds tell it; the share of
    # a plan's possible saving each run of a checkpointing Job after a pause must be worth; how much greener a window
    # must be to wait for it (a fraction); and the weight of the forecast's P90 above its P50.
    default_job_duration_seconds: float = 3600.0
    plan_interruption_share: float = 0.1
    plan_min_gain: float = 0.0
    plan_risk: float = 0.0
    # What the API server, the scheduler and the nodes see of us (docs/actions.md "Pacing"): writes
    # (patches, Events) at most this many a second; resumes and restores, soonest deadline first,
    # at most this many a minute and with at most `max_pending_pods` of their pods Pending at once.
    max_writes_per_second: float = 20.0
    max_resumes_per_minute: int = 600
    max_pending_pods: int = 200
    # List once, then watch what the passes read (actions/kube/cache.py), instead of listing it all
    # each pass; listed afresh every `cache_resync_seconds`. Cluster-wide only (not with target_namespaces).
    watch_cache: bool = True
    cache_resync_seconds: float = 600.0
    leader_election: LeaderElectionSettings = field(default_factory=LeaderElectionSettings)
    webhook_token: Secret | None = field(default=None, metadata={"secret": secrets.WEBHOOK_TOKEN})

    def check(self, path: str) -> list[str]:
        problems = positive(self, path, "reconcile_seconds", "request_timeout_seconds", "max_body_bytes", "workers",
                            "decisions_kept", "default_job_duration_seconds", "max_writes_per_second",
                            "max_resumes_per_minute", "max_pending_pods", "cache_resync_seconds")
        for name in ("plan_interruption_share", "plan_min_gain", "plan_risk"):
            if getattr(self, name) < 0:
                problems.append(f"{path}.{name}: must be 0 or more")
        for name in ("alertmanager_url", "exporter_url"):
            if getattr(self, name):
                problems += http_url(getattr(self, name), f"{path}.{name}")
        if len(set(self.target_namespaces)) != len(self.target_namespaces):
            problems.append(f"{path}.target_namespaces: lists a namespace twice")
        return problems + port_number(self.port, f"{path}.port") + metrics_port(self.metrics_port, self.port, path)


@dataclass(frozen=True)
class ExporterSettings:
    listen_address: str = "0.0.0.0"
    port: int = 9500
    metrics_port: int = 0  # set: /metrics is served there alone, not on `port`

    def check(self, path: str) -> list[str]:
        return port_number(self.port, f"{path}.port") + metrics_port(self.metrics_port, self.port, path)


LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class Config:
    log_level: str = "info"
    log_format: str = "text"  # or json: one object a line (gridshift/logs.py)
    serving: ServingSettings = field(default_factory=ServingSettings)
    exporter: ExporterSettings = field(default_factory=ExporterSettings)
    grid: GridSettings = field(default_factory=GridSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    actions: ActionsSettings = field(default_factory=ActionsSettings)
    power: PowerSettings = field(default_factory=PowerSettings)

    def check(self, path: str) -> list[str]:
        problems = []
        if self.log_level not in LOG_LEVELS:
            problems.append(f"{path}log_level: must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if self.log_format not in LOG_FORMATS:
            problems.append(f"{path}log_format: must be text or json, got {self.log_format!r}")
        return problems


# The top-level sections each command reads. A command validates its own sections (and the file's
# shape), so one file serves every component: the action service does not need the grid
# exporter's ENTSO-E token, nor the exporter the webhook's.
ROLE_SECTIONS: Mapping[str, frozenset[str]] = MappingProxyType({
    "exporter": frozenset({"serving", "exporter", "grid"}),
    "actions": frozenset({"serving", "actions", "cluster"}),
    "power-exporter": frozenset({"serving", "power", "cluster"}),
})


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None, *, role: str | None = None) -> Config:
    """Read, build and validate; raise ConfigError naming every bad key.

    `role` (a key of ROLE_SECTIONS): validate only that command's sections; None validates all."""
    env = os.environ if env is None else env
    source = str(path) if path else "configuration"
    raw: object = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError([f"cannot read {path}: {error.strerror}"], source) from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError([f"not valid YAML{where}: {getattr(error, 'problem', error)}"], source) from None
    return build_config(raw, env=env, source=source, role=role)


def build_config(raw: object, *, env: Mapping[str, str], source: str = "configuration", role: str | None = None) -> Config:
    problems: list[str] = []
    config = _build(Config, raw, "", problems, env, sections=None if role is None else ROLE_SECTIONS[role])
    if problems:
        raise ConfigError(problems, source)
    return typing.cast(Config, config)


def _build(cls: type, raw: object, path: str, problems: list[str], env: Mapping[str, str],
           sections: frozenset[str] | None = None) -> Any:
    """Build dataclass `cls` from `raw`, appending every problem found under `path`.

    `sections`: only problems in these fields count (the others are built all the same)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(f"{path.rstrip('.') or 'top level'}: must be a mapping, got {type(raw).__name__}")
        return cls()
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if "secret" not in f.metadata}
    for key in raw:
        if key not in known:
            problems.append(f"{path}{key}: unknown key (known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        counted = sections is None or f.name in sections or not dataclasses.is_dataclass(hints[f.name])
        found = problems if counted else []
        if "secret" in f.metadata:
            values[f.name] = _read_secret(f.metadata["secret"], path, found, env)
        elif f.name in raw or dataclasses.is_dataclass(hints[f.name]):
            # Absent sections are still built, so their secrets are read and their checks run.
            values[f.name] = _coerce(hints[f.name], raw.get(f.name), f"{path}{f.name}", found, env)
    try:
        built = cls(**{k: v for k, v in values.items() if v is not _INVALID})
    except TypeError as error:  # pragma: no cover - guarded by the checks above
        problems.append(f"{path or 'top level'}: {error}")
        return cls()
    problems.extend(built.check(path.rstrip(".")) if path else built.check(""))
    return built


_INVALID = object()


def _coerce(hint: Any, value: object, path: str, problems: list[str], env: Mapping[str, str]) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type, hint), value, f"{path}.", problems, env)
    origin = typing.get_origin(hint)
    if origin in (dict, Mapping):
        (_key_hint, value_hint) = typing.get_args(hint)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            problems.append(f"{path}: must be a mapping, got {type(value).__name__}")
            return _INVALID
        entries = {str(key): _coerce(value_hint, item, f"{path}.{key}", problems, env) for key, item in value.items()}
        return MappingProxyType({key: item for key, item in entries.items() if item is not _INVALID})
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if not isinstance(value, list):
            problems.append(f"{path}: must be a list, got {type(value).__name__}")
            return _INVALID
        items = [_coerce(item_hint, item, f"{path}[{i}]", problems, env) for i, item in enumerate(value)]
        return tuple(item for item in items if item is not _INVALID)
    if origin in (types.UnionType, typing.Union):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        for member in members[:-1]:  # the first member the value fits; the last one reports the problem
            attempt: list[str] = []
            coerced = _coerce(member, value, path, attempt, env)
            if not attempt:
                return coerced
        hint = members[-1]
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    expected = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}.get(hint, str(hint))
    problems.append(f"{path}: must be {expected}, got {value!r}")
    return _INVALID


def _read_secret(name: str, path: str, problems: list[str], env: Mapping[str, str]) -> Secret | None:
    try:
        return secrets.read_secret(name, env)
    except secrets.SecretError as error:
        problems.append(f"{path.rstrip('.')}: {error}")
        return None
