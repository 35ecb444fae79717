"""Error messages with a position: the ``LINE n:`` excerpt and caret, as psycopg's.

libpq words a server error with a statement position as an excerpt of the statement and a
caret under the offending character (when it knows the statement's text), cutting long lines
to 60 screen columns. Every case runs through psycopg and balrog on the same server and
compares ``str(exc)``, the class and the diagnostic position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes

LONG = "x" * 30
# Statements the server rejects with a position, in the shapes the excerpt handles.
BAD_STATEMENTS = [
    "selec 1",
    "select 1 frm t",
    "select 1,\n  nosuchcol",
    "select 1,\r\n  nosuchcol",
    "select 1,\r  nosuchcol",
    "select\n1,\n\n\n 2 +",
    "select\t1,\tnosuchcol",
    "select 'ünïcødé', nosuchcol",
    "select '漢字漢字漢字', nosuchcol",
    f"select 1 as {LONG}, 2 as {LONG}, 3 as {LONG}, nosuchcol",
    f"select nosuchcol, 1 as {LONG}, 2 as {LONG}, 3 as {LONG}",
    f"select 1 as {LONG}, nosuchcol, 2 as {LONG}, 3 as {LONG}, 4 as {LONG}",
    f"select '{'漢' * 40}', nosuchcol, 2 as {LONG}",
    "select 'a b c'::regtype",
    "select 1; selec 2",
    "select (",
]


def _outcome(run: Callable[..., Any], *args: Any) -> tuple[str, str, str | None] | str:
    try:
        run(*args)
    except Exception as exc:
        diag = getattr(exc, "diag", None)
        position = diag.statement_position if diag is not None else None
        return type(exc).__name__, str(exc), position
    return "no error"


@pytest.fixture
def pair(pg_cluster):
    with (
        psycopg.connect(pg_cluster.conninfo, autocommit=True) as ref,
        bp.connect(pg_cluster.conninfo, autocommit=True) as conn,
    ):
        for c in (ref, conn):
            c.execute("create temporary table t (id int, name text)")
        yield ref, conn


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_execute_excerpt_like_psycopg(pair, cursor_class):
    ref, conn = pair
    for statement in BAD_STATEMENTS:
        if ";" in statement and cursor_class == "Cursor":
            continue  # several statements: only the simple protocol takes them
        want = _outcome(getattr(psycopg, cursor_class)(ref).execute, statement)
        got = _outcome(getattr(bp, cursor_class)(conn).execute, statement)
        assert got == want, statement


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_excerpt_with_parameters(pair, cursor_class):
    ref, conn = pair
    cases = [
        ("select %s::regtype", ["a b c"]),
        ("select %s, nosuchcol", ["ü漢"]),
        ("select %(a)s,\n %(a)s + nosuchcol", {"a": 1}),
    ]
    for query, params in cases:
        want = _outcome(getattr(psycopg, cursor_class)(ref).execute, query, params)
        got = _outcome(getattr(bp, cursor_class)(conn).execute, query, params)
        assert got == want, query


def test_prepared_statement_excerpt(pair):
    ref, conn = pair
    # prepare=True: the statement is parsed with its text, as psycopg's PQsendPrepare.
    want = _outcome(lambda: ref.execute("select nosuchcol", prepare=True))
    got = _outcome(lambda: conn.execute("select nosuchcol", prepare=True))
    assert got == want


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_executemany_excerpt(pair, cursor_class):
    ref, conn = pair
    # The third row's value is refused at parse time (a literal in ClientCursor's text),
    # or the statement itself is bad for every row.
    cases = [
        ("insert into t (id) values (%s)", [(1,), (2,), ("x",)]),
        ("insert into t (id, nosuchcol) values (%s, 1)", [(1,), (2,)]),
    ]
    for query, rows in cases:
        want = _outcome(getattr(psycopg, cursor_class)(ref).executemany, query, rows)
        got = _outcome(getattr(bp, cursor_class)(conn).executemany, query, rows)
        assert got == want, query


def test_copy_stream_server_cursor_pipeline_excerpt(pair):
    ref, conn = pair

    def copy(c: Any) -> None:
        with c.cursor().copy("copy t (id, nosuchcol) from stdin"):
            pass

    def stream(c: Any) -> None:
        list(c.cursor().stream("select 1,\n nosuchcol"))

    def server_cursor(c: Any) -> None:
        with c.transaction(), c.cursor("named") as cur:
            cur.execute("select 1,\n nosuchcol")

    def pipeline(c: Any) -> None:
        with c.pipeline():
            c.execute("select 1")
            c.execute("select 2,\n nosuchcol")

    for run in (copy, stream, server_cursor, pipeline):
        assert _outcome(run, conn) == _outcome(run, ref), run.__name__


def test_internal_query_excerpt(pair):
    ref, conn = pair
    # A position inside a function's own statement: libpq shows that statement (QUERY).
    ref.execute(
        "create or replace function balrog_bad_position() returns int language plpgsql"
        " as $$ begin return (select nosuchcol); end $$"
    )
    want = _outcome(lambda: ref.execute("select balrog_bad_position()"))
    got = _outcome(lambda: conn.execute("select balrog_bad_position()"))
    assert got == want
