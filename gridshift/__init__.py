"""gridshift: carbon-aware Kubernetes from grid data, Kepler power and Alertmanager."""

__version__ = "0.1.0"
