"""psycopg's ``AsyncPipeline``, over balrog's sync ``Pipeline``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from balrog import green_call

from . import pq

if TYPE_CHECKING:
    from .pipeline import Pipeline

__all__ = ["AsyncPipeline"]


class AsyncPipeline:
    """What ``async with conn.pipeline() as p`` gives."""

    __module__ = "psycopg"

    def __init__(self, pipeline: Pipeline):
        self._pipeline = pipeline

    @classmethod
    def _for(cls, pipeline: Pipeline) -> AsyncPipeline:
        """The one async face of a connection's pipeline (nested blocks get the same)."""
        wrapper = getattr(pipeline, "_balrog_async", None)
        if wrapper is None:
            wrapper = pipeline._balrog_async = cls(pipeline)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[no-any-return]

    @property
    def status(self) -> pq.PipelineStatus:
        return self._pipeline.status

    @classmethod
    def is_supported(cls) -> bool:
        return True

    async def sync(self) -> None:
        """Send the queued statements and deliver their results (raises the first error)."""
        await green_call(self._pipeline.sync)

    def __repr__(self) -> str:
        return repr(self._pipeline).replace("Pipeline", "AsyncPipeline", 1)
