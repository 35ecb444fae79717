"""Transaction blocks exited out of order, compared with psycopg step by step.

Calling ``__exit__`` by hand on an outer block while an inner one is open must raise
OutOfOrderTransactionNesting (a ProgrammingError) with psycopg's message, for both blocks,
without committing or rolling back anything.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp
from balrog.psycopg.transaction import OutOfOrderTransactionNesting


def _exc_info(kind: type[BaseException] | None) -> tuple[Any, Any, Any]:
    return (None, None, None) if kind is None else (kind, kind(), None)


def _out_of_order(lib: Any, conninfo: str, autocommit: bool, kind_name: str | None, name: str) -> list[Any]:
    kind = {None: None, "error": ZeroDivisionError, "rollback": lib.Rollback}[kind_name]
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=autocommit) as conn:
        conn.execute("create temp table nest_t (x int)")
        if autocommit:
            conn.execute("drop table nest_t")
            conn.execute("create table if not exists nest_t_auto (x int)")
        outer = conn.transaction(name or None)
        outer.__enter__()
        conn.execute("select 1")
        inner = conn.transaction(name or None)
        inner.__enter__()
        for block in (outer, inner):
            try:
                block.__exit__(*_exc_info(kind))
                seen.append("exited")
            except lib.ProgrammingError as exc:
                seen.append((type(exc).__name__, str(exc).split(": <")[0]))
            seen.append(conn.info.transaction_status.name)
        seen.append(conn.execute("select 42").fetchone())
        if autocommit:
            conn.rollback()
            conn.execute("drop table nest_t_auto")
    return seen


@pytest.mark.parametrize("autocommit", [True, False])
@pytest.mark.parametrize("kind_name", [None, "error", "rollback"])
@pytest.mark.parametrize("name", ["", "save"])
def test_out_of_order_exit_like_psycopg(pg_cluster, autocommit, kind_name, name):
    want = _out_of_order(psycopg, pg_cluster.conninfo, autocommit, kind_name, name)
    got = _out_of_order(bp, pg_cluster.conninfo, autocommit, kind_name, name)
    assert got == want
    assert want[0][0] == "OutOfOrderTransactionNesting"


def test_out_of_order_error_class(pg_cluster):
    assert issubclass(OutOfOrderTransactionNesting, bp.ProgrammingError)
    with bp.connect(pg_cluster.conninfo) as conn:
        outer = conn.transaction()
        outer.__enter__()
        inner = conn.transaction()
        inner.__enter__()
        with pytest.raises(OutOfOrderTransactionNesting, match="commit at the wrong nesting level"):
            outer.__exit__(None, None, None)
        with pytest.raises(OutOfOrderTransactionNesting):
            inner.__exit__(None, None, None)
        conn.rollback()


def test_in_order_blocks_still_commit(pg_cluster):
    with bp.connect(pg_cluster.conninfo) as conn:
        conn.execute("create temp table nest_ok (x int)")
        with conn.transaction():
            conn.execute("insert into nest_ok values (1)")
            with conn.transaction():
                conn.execute("insert into nest_ok values (2)")
            with pytest.raises(ZeroDivisionError), conn.transaction():
                conn.execute("insert into nest_ok values (3)")
                1 / 0  # noqa: B018 - rolls the savepoint back
        assert conn.execute("select array_agg(x order by x) from nest_ok").fetchone() == ([1, 2],)


def _commands_of_named_blocks(lib: Any, conninfo: str) -> list[Any]:
    """The transaction commands psycopg issues (its `_exec_command`, which both share) for
    blocks with and without savepoint names, committed and rolled back."""
    log: list[str] = []
    with lib.connect(conninfo) as conn:
        original = conn._exec_command

        def logged(command: Any, *args: Any, **kwargs: Any) -> Any:
            log.append(command.decode() if isinstance(command, bytes) else command.as_string(conn))
            return original(command, *args, **kwargs)

        conn._exec_command = logged
        with conn.transaction(savepoint_name="foo"):
            log.append("--body")
        with conn.transaction():
            with conn.transaction(savepoint_name="bar"):
                pass
            with conn.transaction():
                pass
        with pytest.raises(ZeroDivisionError), conn.transaction(savepoint_name="baz"):
            1 / 0  # noqa: B018
        with conn.transaction(), pytest.raises(ZeroDivisionError), conn.transaction(savepoint_name="q"):
            1 / 0  # noqa: B018
    return log


def test_named_savepoint_blocks_issue_psycopgs_commands(pg_cluster):
    # An outermost block with a savepoint name: BEGIN, SAVEPOINT, then only COMMIT.
    expected = _commands_of_named_blocks(psycopg, pg_cluster.conninfo)
    assert _commands_of_named_blocks(bp, pg_cluster.conninfo) == expected
