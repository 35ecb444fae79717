"""What abandons a wait on the server half way.

Ctrl-C (KeyboardInterrupt), SystemExit, a cancelled green task (CancelledError) and a wait's
timeout (TimeoutError) stop waiting while the statement still runs on the server. psycopg
then cancels the statement and reads its answers, keeping the connection usable:
``Connection._recover_after_interrupt`` does the same.
"""

from __future__ import annotations

import asyncio

__all__ = ["INTERRUPTED"]

INTERRUPTED: tuple[type[BaseException], ...] = (
    KeyboardInterrupt,
    SystemExit,
    asyncio.CancelledError,
    TimeoutError,
)
