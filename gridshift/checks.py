"""The value checks the settings dataclasses' `check(path)` methods share.

Each returns the problems it finds as `key.path: reason` strings (empty: none). Imports nothing
from gridshift, so gridshift.config and the sections it imports (power_settings, zone_settings)
can all use it.
"""

from __future__ import annotations


def positive(settings: object, path: str, *names: str) -> list[str]:
    """Each named field of `settings` must be greater than 0."""
    problems = []
    for name in names:
        value = getattr(settings, name)
        if value <= 0:
            problems.append(f"{path}.{name}: must be greater than 0, got {value}")
    return problems


def not_empty(settings: object, path: str, *names: str) -> list[str]:
    """Each named field of `settings` must be set (a non-empty string)."""
    return [f"{path}.{name}: must not be empty" for name in names if not getattr(settings, name)]


def http_url(url: str, path: str) -> list[str]:
    if not url.startswith(("http://", "https://")):
        return [f"{path}: must be an http(s) URL, got {url!r}"]
    return []


def port_number(port: int, path: str) -> list[str]:
    if not 0 < port < 65536:
        return [f"{path}: must be between 1 and 65535, got {port}"]
    return []


def metrics_port(port: int, main_port: int, path: str) -> list[str]:
    """A separate /metrics port: 0 (none) or a port other than the component's own."""
    if port == 0:
        return []
    if port == main_port:
        return [f"{path}.metrics_port: must differ from {path}.port ({main_port}), or be 0 to serve /metrics there"]
    return port_number(port, f"{path}.metrics_port")
