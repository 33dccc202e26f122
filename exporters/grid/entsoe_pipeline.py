"""ENTSO-E: the refresh jobs per zone and dataset, and the intensity derived from what they hold.

Jobs fetch through entsoe-py, parse, check the document and process type, and reduce. After a
job stores, the zone's intensity series is recomputed from the snapshot (production basis:
the latest complete mix now, the day-ahead forecasts ahead), and so is the consumption basis
of every zone that imports from it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timezone

from gridshift.config import EntsoeSettings
from gridshift.exporters.grid import datasets, forecast, intensity, mix
from gridshift.exporters.grid.datasets import Dataset, GridSnapshot, Reduced
from gridshift.exporters.grid.parse import NoDataAcknowledgement, ParseError, RejectedRequest, parse_document
from gridshift.exporters.grid.records import IntensityPoint, IntensitySeries, make_series
from gridshift.exporters.grid.refresher import Job
from gridshift.exporters.grid.errors import FetchError
from gridshift.exporters.grid.sources.entsoe import IMPORTS, EntsoeSource

SOURCE = EntsoeSource.name
INTENSITY = "intensity"
INTENSITY_CONSUMPTION = "intensity_consumption"
IMPORTS_DATASET = Dataset(IMPORTS, "A11", "", forecast=False, reduce=lambda document, _settings: mix.profile(document))


def imports_dataset_name(neighbour: str) -> str:
    return f"imports_from_{neighbour}"


class EntsoePipeline:
    def __init__(self, *, source: EntsoeSource, settings: EntsoeSettings, store: GridSnapshot,
                 factors: Mapping[str, float]) -> None:
        self.source = source
        self.settings = settings
        self.store = store
        self.factors = factors
        # Jobs store from several workers; recomputing under one lock keeps a slower thread's
        # older view of the snapshot from overwriting a newer intensity.
        self._derive_lock = threading.Lock()

    def jobs(self) -> list[Job]:
        jobs = [self._job(zone, dataset) for zone in self.settings.zones for dataset in datasets.ALL]
        neighbours = sorted({n for ns in self.settings.neighbours.values() for n in ns} - set(self.settings.zones))
        jobs += [self._job(zone, datasets.GENERATION) for zone in neighbours]
        jobs += [
            self._job(zone, IMPORTS_DATASET, neighbour=neighbour)
            for zone, others in sorted(self.settings.neighbours.items()) for neighbour in others
        ]
        return jobs

    def _job(self, zone: str, dataset: Dataset, neighbour: str | None = None) -> Job:
        def run(now: float) -> Reduced:
            return self._fetch_and_reduce(zone, dataset, now, neighbour)

        name = imports_dataset_name(neighbour) if neighbour else dataset.name
        return Job(zone=zone, source=SOURCE, dataset=name, interval_seconds=dataset.interval_seconds(self.settings), run=run)

    def _fetch_and_reduce(self, zone: str, dataset: Dataset, now: float, neighbour: str | None) -> Reduced:
        start, end = dataset.window(datetime.fromtimestamp(now, timezone.utc), self.settings)
        text = self.source.fetch(dataset=dataset.name, zone=zone, start=start, end=end, neighbour=neighbour)
        what = f"{dataset.name} of {zone}" + (f" from {neighbour}" if neighbour else "")
        try:
            document = parse_document(text)
            mix.require_document(document, document_type=dataset.document_type, process_type=dataset.process_type)
            return dataset.reduce(document, self.settings)
        except NoDataAcknowledgement as ack:
            raise FetchError("no_data", f"ENTSO-E has no {what}: {ack}") from None
        except RejectedRequest as rejected:
            raise FetchError("rejected", f"ENTSO-E rejected the request for {what}: {rejected}") from None
        except ParseError as error:
            raise FetchError("malformed", f"unreadable payload for {what}: {error}") from None

    # Derived intensity -------------------------------------------------------------------

    def on_stored(self, job: Job, now: float) -> None:
        if job.source != SOURCE:
            return
        with self._derive_lock:
            if job.zone in self.settings.zones:
                self._store_production(job.zone, now)
            for zone, others in self.settings.neighbours.items():
                if job.zone == zone or job.zone in others:
                    self._store_consumption(zone, now)

    def _held(self, zone: str, dataset: str) -> Reduced:
        state = self.store.current().get((zone, SOURCE, dataset))
        return state.value if state else None

    def production_series(self, zone: str) -> IntensitySeries | None:
        latest = self._held(zone, datasets.GENERATION.name)
        if not isinstance(latest, mix.GenerationMix):
            return None
        now_intensity = intensity.mix_intensity(latest.watts, self.factors)
        if now_intensity is None:
            return None
        total = self._held(zone, datasets.GENERATION_FORECAST.name)
        if not isinstance(total, mix.Profile) or not total.series:
            total = self._held(zone, datasets.LOAD_FORECAST.name)
        wind_solar = self._held(zone, datasets.WIND_SOLAR_FORECAST.name)
        ahead = forecast.day_ahead_points(
            latest=latest, total=total if isinstance(total, mix.Profile) else None,
            wind_solar=wind_solar if isinstance(wind_solar, mix.Profile) else None,
            factors=self.factors, after=latest.timestamp,
        )
        resolution = _resolution(total) if ahead and isinstance(total, mix.Profile) else latest.resolution_seconds
        return make_series(
            zone=zone, source=SOURCE, basis="production", resolution_seconds=resolution,
            points=[IntensityPoint(latest.timestamp, now_intensity, seconds=latest.resolution_seconds), *ahead],
        )

    def _store_production(self, zone: str, now: float) -> None:
        series = self.production_series(zone)
        if series is not None:
            self.store.put((zone, SOURCE, INTENSITY), datasets.DatasetState(series, now))

    def consumption_series(self, zone: str) -> IntensitySeries | None:
        own = self._held(zone, datasets.GENERATION.name)
        if not isinstance(own, mix.GenerationMix):
            return None
        own_intensity = intensity.mix_intensity(own.watts, self.factors)
        if own_intensity is None:
            return None
        imports = []
        for neighbour in self.settings.neighbours.get(zone, ()):
            flows = self._held(zone, imports_dataset_name(neighbour))
            origin = self._held(neighbour, datasets.GENERATION.name)
            if not isinstance(flows, mix.Profile) or not isinstance(origin, mix.GenerationMix):
                return None  # a consumption basis missing an import would be wrong, not partial
            flow = _value_at(flows, own.timestamp)
            origin_intensity = intensity.mix_intensity(origin.watts, self.factors)
            if flow is None or origin_intensity is None:
                return None
            imports.append((flow, origin_intensity))
        pooled = intensity.pooled_intensity(own.total_watts, own_intensity, imports)
        if pooled is None:
            return None
        return make_series(zone=zone, source=SOURCE, basis="consumption", resolution_seconds=own.resolution_seconds,
                           points=[IntensityPoint(own.timestamp, pooled)])

    def _store_consumption(self, zone: str, now: float) -> None:
        series = self.consumption_series(zone)
        if series is not None:
            self.store.put((zone, SOURCE, INTENSITY_CONSUMPTION), datasets.DatasetState(series, now))


def _value_at(profile: mix.Profile, moment: int) -> float | None:
    """Total flow (all series of the document) in the interval containing `moment`."""
    values = [i.value for intervals in profile.series.values() for i in intervals if i.start <= moment < i.end]
    return sum(values) if values else None


def _resolution(profile: mix.Profile) -> int:
    intervals = next(iter(profile.series.values()), ())
    return intervals[0].end - intervals[0].start if intervals else 3600

