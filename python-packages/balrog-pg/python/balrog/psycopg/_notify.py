"""``Notify``: a notification received on a LISTEN channel."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Notify"]


class Notify(NamedTuple):
    """A notification received from a LISTEN channel."""

    channel: str
    payload: str
    pid: int


Notify.__module__ = "psycopg"
