"""The retry policy for outbound calls: exponential backoff with jitter, Retry-After honoured,
bounded attempts, only for retriable errors."""

from __future__ import annotations

import logging
import random
from typing import Any

from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from adapter.errors import ApiError

logger = logging.getLogger(__name__)


def is_retriable(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and exc.retriable


class wait_retry_after:
    """The server's Retry-After when it sent one (capped), else exponential with jitter."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.fallback = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)
        self.maximum = maximum

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        if hinted is not None:
            return min(hinted, self.maximum)
        return self.fallback(state)


def retrying(
    attempts: int = 3, initial: float = 0.5, maximum: float = 30.0, **kwargs: Any
) -> Retrying:
    return Retrying(
        retry=retry_if_exception(is_retriable),
        stop=stop_after_attempt(attempts),
        wait=wait_retry_after(initial, maximum),
        before_sleep=before_sleep_log(logger, logging.WARNING),
        reraise=True,
        **kwargs,
    )


def backoff(
    attempt: int, initial: float = 10.0, maximum: float = 3600.0, hint: float | None = None
) -> float:
    """Delay before an outbox row's next attempt (attempt counts from 1): the server's hint if
    it gave one, else exponential with jitter, so many rows do not retry in lockstep."""
    if hint is not None:
        return min(hint, maximum)
    delay = min(initial * 2 ** (attempt - 1), maximum)
    return delay / 2 + random.uniform(0, delay / 2)
