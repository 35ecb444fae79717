"""``Connection.pipeline()``.

balrog already sends each execute as one write and executemany as one pipelined batch,
so a pipeline block here runs statements as they are issued: results are available at
once, and errors surface at the statement that caused them (psycopg reports them at the
next sync). Code written for psycopg's pipeline mode runs unchanged.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from . import pq

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Pipeline"]


class Pipeline:
    __module__ = "psycopg"

    def __init__(self, conn: Connection):
        self._conn = conn
        self._level = 0

    @property
    def status(self) -> pq.PipelineStatus:
        return pq.PipelineStatus.ON if self._level else pq.PipelineStatus.OFF

    @classmethod
    def is_supported(cls) -> bool:
        return True

    def sync(self) -> None:
        """Nothing is pending: every statement already ran."""

    def __enter__(self) -> Pipeline:
        self._level += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self._level -= 1
