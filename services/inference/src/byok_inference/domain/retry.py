"""Retry delays: exponential backoff with full jitter, honouring a provider's retry-after, bounded."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # total attempts, the first included
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 20.0  # a longer retry-after is not waited for: the request fails retriable

    def delay(self, attempt: int, retry_after: float | None, rand: random.Random | None = None) -> float | None:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1), or None: give up."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(0.0, retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return (rand or random).uniform(ceiling / 2, ceiling)
