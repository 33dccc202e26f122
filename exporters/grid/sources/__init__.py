"""Upstream transports. Each returns payload text or raises FetchError; none parses.

FetchError and its reason vocabulary live in `gridshift.exporters.grid.errors`, shared by every
upstream; the name is re-exported here for the imports that know it from this package.
"""

from __future__ import annotations

from gridshift.exporters.grid.errors import FetchError

__all__ = ["FetchError"]
