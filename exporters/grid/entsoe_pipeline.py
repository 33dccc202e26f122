"""ENTSO-E: the refresh jobs per zone and dataset.

Each job fetches through entsoe-py (a query over one of ENTSO-E's caps asked again in parts,
splitting.py), parses, checks the document and process type, and reduces;
what it returns is held under its dataset's key. The intensity computed from those datasets is
the derive step's (derive.py), run by the refresher after each round.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypeVar

from gridshift.config import EntsoeSettings
from gridshift.exporters.grid import datasets, mix
from gridshift.exporters.grid.datasets import Dataset
from gridshift.exporters.grid.jobs import Job
from gridshift.exporters.grid.errors import as_fetch_errors
from gridshift.exporters.grid.sources.entsoe import EntsoeSource
from gridshift.exporters.grid.splitting import fetch_document

R = TypeVar("R")


class EntsoePipeline:
    def __init__(self, *, source: EntsoeSource, settings: EntsoeSettings) -> None:
        self.source = source
        self.settings = settings

    def jobs(self) -> list[Job[Any]]:
        jobs: list[Job[Any]] = [self._job(zone, dataset) for zone in self.settings.zones for dataset in datasets.ALL]
        neighbours = sorted({n for ns in self.settings.neighbours.values() for n in ns} - set(self.settings.zones))
        jobs += [self._job(zone, datasets.GENERATION) for zone in neighbours]
        jobs += [
            self._job(zone, datasets.IMPORTS_FLOWS, neighbour=neighbour)
            for zone, others in sorted(self.settings.neighbours.items()) for neighbour in others
        ]
        return jobs

    def _job(self, zone: str, dataset: Dataset[R], neighbour: str | None = None) -> Job[R]:
        def run(now: float) -> R:
            return self._fetch_and_reduce(zone, dataset, now, neighbour)

        return Job(key=dataset.key(zone, neighbour), interval_seconds=dataset.interval_seconds(self.settings), run=run)

    def _fetch_and_reduce(self, zone: str, dataset: Dataset[R], now: float, neighbour: str | None) -> R:
        start, end = dataset.window(datetime.fromtimestamp(now, timezone.utc), self.settings)

        def fetch(part_start: datetime, part_end: datetime) -> str:
            return self.source.fetch(dataset=dataset.name, zone=zone, start=part_start, end=part_end, neighbour=neighbour)

        what = f"{dataset.name} of {zone}" + (f" from {neighbour}" if neighbour else "")
        with as_fetch_errors(what):
            document = fetch_document(fetch, start, end)
            mix.require_document(document, document_type=dataset.document_type, process_type=dataset.process_type)
            return dataset.reduce(document, self.settings)
