"""Retry timing: exponential back-off with full jitter, and the provider's rate-limit reset."""

import random
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently each provider call is retried.

    `max_attempts` bounds the send attempts of one message in one run, and separately the
    calls made to create a batch or to cancel one. The n-th retry waits a random time between
    0 and `min(max_delay, base_delay * 2 ** (n - 1))` ("full jitter"); after a 429 the wait
    lasts until the `X-RateLimit-Reset` time instead, at most `max_rate_limit_wait`.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_rate_limit_wait: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_rate_limit_wait < 0:
            raise ValueError("delays cannot be negative")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before the `retry`-th retry (1 for the first)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(retry - 1, 0))
        return random.uniform(0, ceiling)

    def until_reset(self, reset_epoch: float) -> float:
        """Seconds to wait for a rate-limit window that resets at `reset_epoch`, plus jitter."""
        wait = max(0.0, reset_epoch - time.time())
        return min(self.max_rate_limit_wait, wait) + random.uniform(0, self.base_delay)


class RateGate:
    """Holds every worker back until a rate-limit window has reset.

    One 429 tells us the account's limit is spent for all requests, not just the one that got
    it, so the reset time is shared by the threads that call the provider.
    """

    def __init__(self) -> None:
        self._not_before = 0.0
        self._lock = threading.Lock()

    def hold_until(self, epoch: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, epoch)

    def wait(self) -> None:
        with self._lock:
            delay = self._not_before - time.time()
        if delay > 0:
            time.sleep(delay)
