"""Exporters: the grid exporter (mix, intensity, forecast) and, later, namespace power."""
