"""The providers the configuration asks for."""

from __future__ import annotations

from gridshift.config import GridSettings
from gridshift.exporters.grid.providers import IntensityProvider
from gridshift.exporters.grid.providers.static import StaticProvider


def build_providers(grid: GridSettings) -> list[IntensityProvider]:
    providers: list[IntensityProvider] = []
    if grid.static.zones:
        providers.append(StaticProvider(grid.static.zones))
    return providers
