"""When a failed request is asked again: the retry policy and the per-host backoff gate."""

from __future__ import annotations

import time
from dataclasses import dataclass


class HostGate:
    """Shared per-host backoff: after a 429/5xx/connection failure no request to the host
    starts before `opens_at`, so concurrent tasks wait together instead of each being told
    to slow down by its own failure (regclient's per-host backoff)."""

    def __init__(self) -> None:
        self.opens_at = 0.0
        self.generation = 0

    def close_for(self, seconds: float) -> int:
        """Push the opening time out to now + SECONDS (never earlier); the generation to clear."""
        opens_at = time.monotonic() + seconds
        if opens_at > self.opens_at:
            self.opens_at = opens_at
            self.generation += 1
        return self.generation

    def opened(self, generation: int) -> None:
        # The wait for GENERATION is over: open unless someone pushed it out since. With a
        # real sleep the clock already says so; an injected sleep in tests does not move it.
        if self.generation == generation:
            self.opens_at = 0.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry 408/429/5xx and connection errors."""

    attempts: int = 5
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0
    retry_after_cap_seconds: float = 60.0
    budget_seconds: float = 300.0  # total time one request may spend, waits included
