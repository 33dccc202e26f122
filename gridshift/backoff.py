"""Exponential backoff with jitter for upstream fetches."""

from __future__ import annotations

import random


def backoff_delay(failures: int, *, initial: float, maximum: float, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Delay before the next attempt after `failures` consecutive failures (>= 1).

    The ceiling doubles per failure up to `maximum`; the delay is drawn from the upper half of
    it ("equal jitter"), so many zones failing together spread out yet none retries at once.
    A server's Retry-After is honoured when it asks for longer.
    """
    ceiling = min(maximum, initial * 2 ** max(0, failures - 1))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, maximum))
    return delay
