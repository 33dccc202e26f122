"""The derive step: what the jobs hold -> one `ZoneView` per zone. Pure.

The refresher calls `derive` after each refresh round with the inputs held and the views of the
round before; the views replace the old ones at once. Per zone:

- `generation`, `renewable_share`, `load`: ENTSO-E's newest complete mix and actual load;
- `timestamps`: the newest data point of each dataset held (not of the series: which of their
  points is current depends on the moment of a scrape);
- `series`: every provider's series as fetched, and for the configured ENTSO-E zones the derived
  ones: production basis (the latest complete mix now, the day-ahead forecasts ahead) and, for a
  zone with neighbours, consumption basis (its own generation pooled with its imports). A derived
  series that cannot be computed from this round's inputs keeps the one derived before, as a
  failed fetch keeps what was held; the staleness limit withholds it once old.

A per-zone forecast is one more field of ZoneView, computed in `derive_zone` from the same
inputs (the zone's series, and ENTSO-E's day-ahead datasets where held).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from gridshift.config import EntsoeSettings
from gridshift.exporters.grid import datasets, forecast, intensity, mix
from gridshift.exporters.grid.datasets import SOURCE as ENTSOE
from gridshift.exporters.grid.production_types import is_renewable
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries, make_series
from gridshift.exporters.grid.snapshot import PROVIDED, InputKey, Inputs, forecast_key, held, provided_key
from gridshift.exporters.grid.views import DataTimestamp, ZoneView, source_rank

T = TypeVar("T")


@dataclass(frozen=True)
class Derivation:
    """What deriving needs besides the inputs; fixed at start from the configuration."""

    factors: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))  # psr_type -> gCO2eq/kWh
    entsoe_zones: tuple[str, ...] = ()  # the zones whose intensity is computed from ENTSO-E's mix
    neighbours: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, settings: EntsoeSettings, factors: Mapping[str, float]) -> Derivation:
        return cls(factors=factors, entsoe_zones=tuple(settings.zones), neighbours=settings.neighbours)


def derive(inputs: Inputs, *, previous: Mapping[str, ZoneView], how: Derivation,
           changed: Collection[str] | None = None) -> dict[str, ZoneView]:
    """A view for every zone something is held of.

    `changed`: the zones whose inputs this round may have changed (None: any). Only they and the
    zones importing from them are derived again; every other zone keeps its previous view.
    """
    zones = sorted({key.zone for key in inputs})
    if changed is None:
        again = set(zones)
    else:
        again = set(changed) | {zone for zone, others in how.neighbours.items() if not set(others).isdisjoint(changed)}
    views = {}
    for zone in zones:
        before = previous.get(zone)
        views[zone] = derive_zone(zone, inputs, previous=before, how=how) if zone in again or before is None else before
    return views


def derive_zone(zone: str, inputs: Inputs, *, previous: ZoneView | None, how: Derivation) -> ZoneView:
    generation = _value(inputs, datasets.GENERATION.key(zone))
    derived = [
        _kept(production_series(zone, inputs, how) if zone in how.entsoe_zones else None, previous, "production"),
        _kept(consumption_series(zone, inputs, how) if zone in how.neighbours else None, previous, "consumption"),
    ]
    provided = [_value(inputs, provided_key(zone, key.source)) for key in inputs if key.zone == zone and key.dataset == PROVIDED]
    series = sorted([s for s in (*provided, *derived) if s is not None],
                    key=lambda s: (source_rank(s.source), s.source, s.basis))
    return ZoneView(
        zone=zone,
        generation=generation,
        renewable_share=renewable_share(generation) if generation is not None else None,
        load=_value(inputs, datasets.LOAD.key(zone)),
        timestamps=_timestamps(zone, inputs, how),
        series=tuple(series),
        forecast=_value(inputs, forecast_key(zone)),
    )


def renewable_share(generation: mix.GenerationMix) -> float | None:
    total = generation.total_watts
    if total <= 0:
        return None
    return sum(watts for psr_type, watts in generation.watts.items() if is_renewable(psr_type)) / total


def production_series(zone: str, inputs: Inputs, how: Derivation) -> IntensitySeries | None:
    """The latest complete mix's intensity now, then the day-ahead forecast's."""
    found = _mix_intensity(zone, inputs, how)
    if found is None:
        return None
    latest, now_intensity = found
    total = _value(inputs, datasets.GENERATION_FORECAST.key(zone))
    if total is None or not total.series:
        total = _value(inputs, datasets.LOAD_FORECAST.key(zone))
    ahead = forecast.day_ahead_points(
        latest=latest, total=total, wind_solar=_value(inputs, datasets.WIND_SOLAR_FORECAST.key(zone)),
        factors=how.factors, after=latest.timestamp,
    )
    resolution = _resolution(total) if ahead and total is not None else latest.resolution_seconds
    return make_series(
        zone=zone, source=ENTSOE, basis="production", resolution_seconds=resolution,
        points=[IntensityPoint(latest.timestamp, now_intensity, seconds=latest.resolution_seconds), *ahead],
    )


def consumption_series(zone: str, inputs: Inputs, how: Derivation) -> IntensitySeries | None:
    """Own generation pooled with every import at its origin's intensity; None if any part is missing."""
    found = _mix_intensity(zone, inputs, how)
    if found is None:
        return None
    own, own_intensity = found
    imports = []
    for neighbour in how.neighbours.get(zone, ()):
        flows = _value(inputs, datasets.IMPORTS_FLOWS.key(zone, neighbour))
        origin = _mix_intensity(neighbour, inputs, how)
        flow = _value_at(flows, own.timestamp) if flows is not None else None
        if flow is None or origin is None:
            return None  # a consumption basis missing an import would be wrong, not partial
        imports.append((flow, origin[1]))
    pooled = intensity.pooled_intensity(own.total_watts, own_intensity, imports)
    if pooled is None:
        return None
    return make_series(zone=zone, source=ENTSOE, basis="consumption", resolution_seconds=own.resolution_seconds,
                       points=[IntensityPoint(own.timestamp, pooled)])


def _mix_intensity(zone: str, inputs: Inputs, how: Derivation) -> tuple[mix.GenerationMix, float] | None:
    """The zone's latest complete mix and its intensity; None without a mix or an intensity of it."""
    latest = _value(inputs, datasets.GENERATION.key(zone))
    if latest is None:
        return None
    value = intensity.mix_intensity(latest.watts, how.factors)
    return None if value is None else (latest, value)


def _timestamps(zone: str, inputs: Inputs, how: Derivation) -> tuple[DataTimestamp, ...]:
    keys: list[InputKey[datasets.Timestamped | None]] = [dataset.key(zone) for dataset in datasets.ALL]
    keys += [datasets.IMPORTS_FLOWS.key(zone, neighbour) for neighbour in how.neighbours.get(zone, ())]
    found = []
    for key in sorted(keys):
        value = _value(inputs, key)
        newest = value.newest_timestamp if value is not None else None
        if newest is not None:
            found.append(DataTimestamp(key.source, key.dataset, newest))
    return tuple(found)


def _value(inputs: Inputs, key: InputKey[T]) -> T | None:
    one = held(inputs, key)
    return one.value if one is not None else None


def _kept(series: IntensitySeries | None, previous: ZoneView | None, basis: str) -> IntensitySeries | None:
    if series is not None or previous is None:
        return series
    return previous.intensity(ENTSOE, basis)


def _value_at(profile: mix.Profile, moment: int) -> float | None:
    """Total flow (all series of the document) in the interval containing `moment`."""
    values = [i.value for intervals in profile.series.values() for i in intervals if i.start <= moment < i.end]
    return sum(values) if values else None


def _resolution(profile: mix.Profile) -> int:
    intervals = next(iter(profile.series.values()), ())
    return intervals[0].end - intervals[0].start if intervals else 3600
