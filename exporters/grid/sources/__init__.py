"""Upstream transports. Each returns payload text or raises FetchError; none parses."""

from __future__ import annotations


class FetchError(Exception):
    """A failed upstream fetch, classified for the error counter and the backoff.

    `reason` is a fixed vocabulary (the `reason` label of gridshift_grid_fetch_errors_total);
    `message` is safe to log: secrets are redacted before it is built.
    """

    REASONS = (
        "no_data", "unauthorized", "rate_limited", "server_error", "client_error",
        "timeout", "connection", "malformed", "rejected", "internal",
    )

    def __init__(self, reason: str, message: str, *, retry_after: float | None = None) -> None:
        assert reason in self.REASONS, reason
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth retrying soon with backoff; `no_data` is ENTSO-E's normal publication lag."""
        return self.reason not in ("no_data",)
