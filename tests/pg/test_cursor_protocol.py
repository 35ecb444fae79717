"""Cursor iteration protocol and the typing surface, compared with psycopg.

``next(cursor)`` works on every cursor class; a server cursor's ``rownumber`` follows a
``for`` loop row by row (pages of ``itersize`` rows are fetched underneath); the classes are
generic (``Connection[DictRow]``, ``Cursor[TupleRow]``) and ordered as psycopg's
(``ClientCursor``, ``ServerCursor`` and ``RawCursor`` are ``Cursor`` subclasses).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp


def _next_calls(lib: Any, conninfo: str, kind: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo) as conn:
        if kind == "server":
            cur = conn.cursor("next_c")
        else:
            cur = {"plain": lib.Cursor, "client": lib.ClientCursor, "raw": lib.RawCursor}[kind](conn)
        query = "select generate_series(1, 3)" if kind != "raw" else "select generate_series(1, $1)"
        cur.execute(query, None if kind != "raw" else [3])
        seen.append(next(cur))
        seen.append(cur.fetchone())
        seen.append(next(cur))
        try:
            next(cur)
        except StopIteration as exc:
            seen.append(("stop", str(exc)))
        seen.append(list(cur))
        cur.close()
    return seen


@pytest.mark.parametrize("kind", ["plain", "client", "raw", "server"])
def test_next_like_psycopg(pg_cluster, kind):
    assert _next_calls(bp, pg_cluster.conninfo, kind) == _next_calls(psycopg, pg_cluster.conninfo, kind)


def _rownumbers(lib: Any, conninfo: str, itersize: int) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo) as conn, conn.cursor("rn") as cur:
        cur.itersize = itersize
        cur.execute("select generate_series(1, 5)")
        for (value,) in cur:
            seen.append((value, cur.rownumber))
        seen.append(("end", cur.rownumber, cur.fetchone()))
    return seen


@pytest.mark.parametrize("itersize", [1, 2, 5, 100])
def test_server_cursor_rownumber_follows_the_loop(pg_cluster, itersize):
    want = _rownumbers(psycopg, pg_cluster.conninfo, itersize)
    assert _rownumbers(bp, pg_cluster.conninfo, itersize) == want
    assert want[0] == (1, 1)


def test_server_cursor_scroll_during_iteration(pg_cluster):
    def run(lib: Any) -> list[Any]:
        with lib.connect(pg_cluster.conninfo) as conn:
            cur = conn.cursor("sc", scrollable=True)
            cur.itersize = 2
            cur.execute("select generate_series(1, 5)")
            first = [next(cur), next(cur), next(cur)]
            cur.scroll(0, "absolute")
            rest = list(cur)
            cur.close()
            return [first, rest]

    assert run(bp) == run(psycopg)


def test_generic_classes():
    from balrog.psycopg.rows import DictRow, TupleRow

    for lib in (psycopg, bp):
        assert lib.Connection[DictRow] is not None
        assert lib.Cursor[TupleRow] is not None
        assert lib.ServerCursor[DictRow] is not None
        assert lib.ClientCursor[DictRow] is not None
    assert len(bp.Connection.__parameters__) == len(psycopg.Connection.__parameters__) == 1
    import balrog.psycopg_pool as bpool

    assert bpool.ConnectionPool[bp.Connection[DictRow]] is not None


@pytest.mark.parametrize("name", ["ClientCursor", "ServerCursor", "RawCursor", "RawServerCursor"])
def test_cursor_classes_are_cursors(name):
    assert issubclass(getattr(psycopg, name), psycopg.Cursor)
    assert issubclass(getattr(bp, name), bp.Cursor)


def test_abc_names():
    import psycopg.abc

    import balrog.psycopg.abc as babc

    public = {n for n in dir(psycopg.abc) if not n.startswith("_") and n[0].isupper()}
    public -= {"TYPE_CHECKING", "Any", "Callable", "Generator", "Mapping", "Protocol", "Sequence"}
    public -= {"TypeAlias", "TypeVar", "Union", "LiteralString", "Template", "PGresult", "PGconn"}
    public -= {"Wait", "Ready", "PyFormat", "Generic", "Optional", "Self"}
    missing = sorted(n for n in public if not hasattr(babc, n))
    assert missing == []
    assert isinstance(b"x", babc.Buffer) and isinstance(memoryview(b"x"), babc.Buffer)


def _deleted_open(lib: Any, conninfo: str) -> list[str]:
    import gc
    import warnings

    with lib.connect(conninfo) as conn, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cur = conn.cursor("left_open")
        cur.execute("select 1")
        del cur
        with conn.cursor("closed_by_with") as cur2:
            cur2.execute("select 1")
        del cur2
        gc.collect()
        return [f"{w.category.__name__}: {str(w.message).split(' at 0x')[0]}" for w in caught]


def test_server_cursor_deleted_open_warns_like_psycopg(pg_cluster):
    want = _deleted_open(psycopg, pg_cluster.conninfo)
    assert _deleted_open(bp, pg_cluster.conninfo) == want
    assert want == ["ResourceWarning: <psycopg.ServerCursor object"]
