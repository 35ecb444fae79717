"""Connection states, as in ``websockets.protocol``."""

from __future__ import annotations

import enum

__all__ = ["CLOSED", "CLOSING", "CONNECTING", "OPEN", "State"]


class State(enum.IntEnum):
    """A WebSocket connection is in one of these four states."""

    CONNECTING, OPEN, CLOSING, CLOSED = range(4)


CONNECTING = State.CONNECTING
OPEN = State.OPEN
CLOSING = State.CLOSING
CLOSED = State.CLOSED
