"""Prepared statements forgotten when psycopg forgets them: after DDL and rollbacks.

A statement prepared before ``ALTER TABLE`` changes its result columns fails on the server
with "cached plan must not change result type" every time it runs again. psycopg avoids
that by dropping its prepared statements after DROP, ALTER, ROLLBACK (commands and
rollback()), DISCARD ALL and DEALLOCATE ALL; these tests hold balrog to the same steps,
side by side with psycopg.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes

QUERY = "select * from prep_t where a = %s"


def _server_names(conn: Any) -> list[str]:
    rows = conn.execute("select name from pg_prepared_statements order by name").fetchall()
    return [row[0] for row in rows]


def _prepare(conn: Any) -> None:
    for _ in range(3):  # past prepare_threshold=2
        conn.execute(QUERY, [1])


def _steps(conn: Any, invalidate: Callable[[Any], None]) -> list[Any]:
    """What a user sees: statements on the server and the query's columns, step by step."""
    seen: list[Any] = []
    conn.execute("drop table if exists prep_t")
    conn.execute("create table prep_t (a int)")
    _prepare(conn)
    seen.append(("prepared", _server_names(conn)))
    invalidate(conn)
    seen.append(("after", len(conn._prepared._names) if hasattr(conn._prepared, "_names") else None))
    try:
        cur = conn.execute(QUERY, [1])
        seen.append(("columns", [column.name for column in cur.description]))
    except psycopg.Error as exc:  # never raised by psycopg here
        seen.append(("error", type(exc).__name__, str(exc)))
    except bp.Error as exc:
        seen.append(("error", type(exc).__name__, str(exc)))
    # Prepared again after the threshold, and it works.
    _prepare(conn)
    seen.append(("columns again", [column.name for column in conn.execute(QUERY, [1]).description]))
    return seen


def _alter(conn: Any) -> None:
    conn.execute("alter table prep_t add column b text")


def _drop_and_recreate(conn: Any) -> None:
    conn.execute("drop table prep_t")
    conn.execute("create table prep_t (a int, b text, c int)")


def _alter_then_rollback_command(conn: Any) -> None:
    conn.execute("begin")
    conn.execute("create table prep_other (x int)")
    conn.execute("rollback")
    _alter(conn)


def _alter_in_multi_statement(conn: Any) -> None:
    conn.cursor().execute("select 1; alter table prep_t add column b text")


def _discard_all(conn: Any) -> None:
    conn.execute("discard all")


@pytest.mark.parametrize(
    "invalidate",
    [_alter, _drop_and_recreate, _alter_then_rollback_command, _alter_in_multi_statement, _discard_all],
)
def test_ddl_forgets_prepared_statements_like_psycopg(pg_cluster, invalidate):
    with (
        psycopg.connect(pg_cluster.conninfo, autocommit=True, prepare_threshold=2) as ref,
        bp.connect(pg_cluster.conninfo, autocommit=True, prepare_threshold=2) as conn,
    ):
        want = _steps(ref, invalidate)
        got = _steps(conn, invalidate)
    # Statement names are per connection; compare everything else.
    assert got == want
    assert not any(step[0] == "error" for step in got)


@pytest.mark.parametrize("how", ["rollback()", "transaction block", "savepoint"])
def test_rollback_forgets_prepared_statements(pg_cluster, how):
    with bp.connect(pg_cluster.conninfo, prepare_threshold=2) as conn:
        conn.execute("drop table if exists prep_t")
        conn.execute("create table prep_t (a int)")
        conn.commit()
        _prepare(conn)
        assert conn._prepared._names
        if how == "rollback()":
            conn.rollback()
        else:
            with conn.transaction() if how == "savepoint" else _nothing():
                with pytest.raises(bp.errors.DivisionByZero), conn.transaction():
                    conn.execute("select 1/0")
        assert not conn._prepared._names
        conn.rollback()
        # The forgotten statement is deallocated on the server with the next one prepared.
        _prepare(conn)
        assert len(_server_names(conn)) == 1
        conn.rollback()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _multi_statement_prepared(lib: Any, conninfo: str) -> list[Any]:
    # Several statements in one execute give several results: never prepared (the server
    # refuses), however often they run.
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.prepare_threshold = 2
        seen = []
        count = "select count(*) from pg_prepared_statements"
        for _ in range(6):
            conn.execute("select 1; select 2")
            seen.append(conn.execute(count, prepare=False).fetchone()[0])
        for _ in range(4):
            conn.execute("select 3")
        seen.append(conn.execute(count, prepare=False).fetchone()[0])
        return seen


def test_multi_statement_queries_are_never_prepared(pg_cluster):
    want = _multi_statement_prepared(psycopg, pg_cluster.conninfo)
    assert _multi_statement_prepared(bp, pg_cluster.conninfo) == want
    assert want == [0] * 6 + [1]


def _left_on_server(lib: Any, conninfo: str, invalidate: Callable[[Any], None]) -> list[int]:
    """How many prepared statements the server holds right after each invalidation."""
    count = "select count(*) from pg_prepared_statements"
    with lib.connect(conninfo, prepare_threshold=2) as conn:
        conn.execute("drop table if exists prep_t")
        conn.execute("create table prep_t (a int)")
        conn.commit()
        seen = []
        for _ in range(2):
            _prepare(conn)
            conn.execute("select %s::text", ["x"], prepare=True)
            invalidate(conn)
            seen.append(conn.execute(count, prepare=False).fetchone()[0])
            conn.rollback()
        return seen


def _rollback_method(conn: Any) -> None:
    conn.rollback()


def _failed_block(conn: Any) -> None:
    with pytest.raises((psycopg.errors.DivisionByZero, bp.errors.DivisionByZero)), conn.transaction():
        conn.execute("select 1/0")


def _ddl_in_transaction(conn: Any) -> None:
    conn.execute("create table if not exists prep_other (x int)")
    conn.execute("drop table prep_other")


def _discard_plans(conn: Any) -> None:
    conn.execute("discard plans")


@pytest.mark.parametrize(
    "invalidate",
    [
        _rollback_method,
        _failed_block,
        _ddl_in_transaction,
        _discard_plans,
        _alter,
        _alter_then_rollback_command,
    ],
)
def test_stale_statements_are_deallocated_at_once_like_psycopg(pg_cluster, invalidate):
    # psycopg runs DEALLOCATE ALL right after the command that made its statements stale
    # (psycopg's own test_no_prepare_multi_with_drop counts them).
    want = _left_on_server(psycopg, pg_cluster.conninfo, invalidate)
    assert _left_on_server(bp, pg_cluster.conninfo, invalidate) == want
    # DISCARD PLANS leaves the statements (psycopg 3.3 clears after DISCARD ALL only).
    assert want == ([2, 2] if invalidate is _discard_plans else [0, 0])


def test_ddl_repeated_leaves_no_statement_like_psycopg(pg_cluster):
    def run(lib: Any) -> int:
        with lib.connect(pg_cluster.conninfo) as conn:
            conn.execute("select 1", prepare=True)
            for _ in range(10):
                conn.execute("drop table if exists noprep; create table noprep()")
            return conn.execute("select count(*) from pg_prepared_statements", prepare=False).fetchone()[0]

    assert run(bp) == run(psycopg) == 0
