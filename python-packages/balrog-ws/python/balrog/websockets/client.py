"""What ``websockets.client`` offers for reconnecting clients: which errors are worth a
retry (``process_exception``) and how long to wait between attempts (``backoff``).

Same rules and the same environment variables as websockets (``WEBSOCKETS_BACKOFF_*``).
"""

from __future__ import annotations

import os
import random
from collections.abc import Generator

from .exceptions import InvalidMessage, InvalidStatus

__all__ = ["backoff", "process_exception"]

BACKOFF_INITIAL_DELAY = float(os.environ.get("WEBSOCKETS_BACKOFF_INITIAL_DELAY", "5"))
BACKOFF_MIN_DELAY = float(os.environ.get("WEBSOCKETS_BACKOFF_MIN_DELAY", "3.1"))
BACKOFF_MAX_DELAY = float(os.environ.get("WEBSOCKETS_BACKOFF_MAX_DELAY", "90.0"))
BACKOFF_FACTOR = float(os.environ.get("WEBSOCKETS_BACKOFF_FACTOR", "1.618"))

# Server and proxy errors that may well go away.
_RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


def process_exception(exc: Exception) -> Exception | None:
    """None when a failed connection attempt is worth retrying (network errors, a
    handshake cut short by EOF, a 500/502/503/504); else the exception to raise."""
    if isinstance(exc, OSError | TimeoutError):
        return None
    if isinstance(exc, InvalidMessage) and isinstance(exc.__cause__, EOFError):
        return None
    if isinstance(exc, InvalidStatus) and exc.response.status_code in _RETRYABLE_STATUSES:
        return None
    return exc


def backoff(
    initial_delay: float = BACKOFF_INITIAL_DELAY,
    min_delay: float = BACKOFF_MIN_DELAY,
    max_delay: float = BACKOFF_MAX_DELAY,
    factor: float = BACKOFF_FACTOR,
) -> Generator[float]:
    """Delays between attempts: a random one first (RFC 6455 7.2.3 asks clients not to
    come back all at once), then growing by ``factor`` up to ``max_delay``."""
    yield random.random() * initial_delay
    delay = min_delay
    while delay < max_delay:
        yield delay
        delay *= factor
    while True:
        yield max_delay
