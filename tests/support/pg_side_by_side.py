"""Running the same steps through psycopg and balrog.psycopg and comparing the outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

import balrog.psycopg as bp

LIBS = (psycopg, bp)


def same(run: Callable[[Any, Any], Any], conninfo: str, **connect: Any) -> Any:
    """``run(lib, conn)`` with each library on a connection of its own; asserts the two
    answers are equal and returns balrog's."""
    out = []
    for lib in LIBS:
        with lib.connect(conninfo, autocommit=True, **connect) as conn:
            out.append(run(lib, conn))
    assert out[1] == out[0]
    return out[1]


def rows_until_error(cp: Any, how: str) -> tuple[list[Any], tuple[str, str] | None]:
    """The rows of a COPY TO read with ``rows()`` or ``read_row()`` (``how``), and the
    error that ended them early, as (class name, first line), or None."""
    got: list[Any] = []
    try:
        if how == "rows":
            for row in cp.rows():
                got.append(row)
        else:
            while (row := cp.read_row()) is not None:
                got.append(row)
    except Exception as e:
        return got, (type(e).__name__, str(e).splitlines()[0])
    return got, None
