"""The providers the configuration asks for."""

from __future__ import annotations

from gridshift.config import GridSettings
from gridshift.exporters.grid.providers import IntensityProvider
from gridshift.exporters.grid.providers.electricitymaps import ElectricityMapsProvider
from gridshift.exporters.grid.providers.replay import ReplayProvider
from gridshift.exporters.grid.providers.static import StaticProvider
from gridshift.exporters.grid.providers.ukgrid import UkGridProvider


def build_providers(grid: GridSettings) -> list[IntensityProvider]:
    providers: list[IntensityProvider] = []
    if grid.ukgrid.zones:
        providers.append(UkGridProvider(grid.ukgrid))
    if grid.electricitymaps.zones:
        providers.append(ElectricityMapsProvider(grid.electricitymaps))
    if grid.replay.zones:
        providers.append(ReplayProvider(grid.replay))
    if grid.static.zones:
        providers.append(StaticProvider(grid.static.zones))
    return providers
