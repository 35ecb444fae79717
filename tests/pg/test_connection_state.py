"""Differential: the connection's options and status after each step of a session
(autocommit, isolation level, read-only, deferrable, transaction blocks, errors, close),
through balrog.psycopg and psycopg side by side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        value = call()
    except Exception as exc:
        return ("raises", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    return value if isinstance(value, int | str | bool | tuple | list | None) else type(value).__name__


def _state(conn: Any) -> dict[str, Any]:
    return {
        "closed": conn.closed,
        "broken": conn.broken,
        "autocommit": conn.autocommit,
        "isolation_level": conn.isolation_level,
        "read_only": conn.read_only,
        "deferrable": conn.deferrable,
        "transaction_status": int(conn.info.transaction_status),
        "status": int(conn.info.status),
    }


def _blocks(conn: Any) -> None:
    with conn.transaction():
        conn.execute("select 1")
        with conn.transaction():
            conn.execute("select 2")


def _failing_savepoint(conn: Any) -> str | None:
    with conn.transaction():
        try:
            with conn.transaction():
                conn.execute("select 1/0")
        except Exception as exc:
            return type(exc).__name__
    return None


def _block_inside_a_transaction(conn: Any) -> int:
    conn.execute("select 1")
    with conn.transaction():
        conn.execute("select 2")
    return int(conn.info.transaction_status)


def _commit_inside_a_block(conn: Any) -> None:
    with conn.transaction():
        conn.commit()


def _steps(mod: Any) -> list[tuple[str, Callable[[Any], Any] | None]]:
    return [
        ("connect", None),
        ("select", lambda c: c.execute("select 1").fetchone()),
        ("autocommit inside a transaction", lambda c: setattr(c, "autocommit", True)),
        ("commit", lambda c: c.commit()),
        ("autocommit", lambda c: setattr(c, "autocommit", True)),
        ("select in autocommit", lambda c: c.execute("select 2").fetchone()),
        ("isolation level", lambda c: setattr(c, "isolation_level", mod.IsolationLevel.SERIALIZABLE)),
        ("isolation level 42", lambda c: setattr(c, "isolation_level", 42)),
        ("read only", lambda c: setattr(c, "read_only", True)),
        ("deferrable", lambda c: setattr(c, "deferrable", True)),
        ("autocommit off", lambda c: setattr(c, "autocommit", False)),
        ("write in a read-only transaction", lambda c: c.execute("create temp table t_ro (x int)")),
        ("rollback", lambda c: c.rollback()),
        ("read only back to default", lambda c: setattr(c, "read_only", None)),
        ("nested transaction blocks", _blocks),
        ("a failing savepoint", _failing_savepoint),
        ("select after it", lambda c: c.execute("select 3").fetchone()),
        ("server error in a transaction", lambda c: c.execute("select 1/0")),
        ("query in the failed transaction", lambda c: c.execute("select 1")),
        ("autocommit in the failed transaction", lambda c: setattr(c, "autocommit", True)),
        ("rollback again", lambda c: c.rollback()),
        ("block inside a transaction", _block_inside_a_transaction),
        ("commit inside a block", _commit_inside_a_block),
        ("close", lambda c: c.close()),
        ("query after close", lambda c: c.execute("select 1")),
        ("commit after close", lambda c: c.commit()),
        ("rollback after close", lambda c: c.rollback()),
        ("cursor after close", lambda c: c.cursor()),
        ("autocommit after close", lambda c: setattr(c, "autocommit", False)),
        ("isolation level after close", lambda c: setattr(c, "isolation_level", None)),
        ("read only after close", lambda c: setattr(c, "read_only", False)),
        ("deferrable after close", lambda c: setattr(c, "deferrable", None)),
    ]


def _session(mod: Any, conninfo: str) -> list[tuple[str, Any, dict[str, Any]]]:
    conn = mod.connect(conninfo)
    try:
        seen = []
        for name, step in _steps(mod):
            result = None if step is None else _outcome(lambda step=step: step(conn))
            seen.append((name, result, _state(conn)))
        return seen
    finally:
        conn.close()


def test_connection_state_after_each_step_matches_psycopg(pg_cluster):
    ours = _session(bp, pg_cluster.conninfo)
    theirs = _session(psycopg, pg_cluster.conninfo)
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine == reference


def _pgconn_exec(mod: Any, conninfo: str) -> list[Any]:
    """``conn.pgconn.exec_``: commands behind the connection's back, as psycopg's tests and
    some applications use it."""
    out: list[Any] = []
    with mod.connect(conninfo) as conn:
        pgconn = conn.pgconn
        # (psycopg's C pq layer answers plain ints where balrog has the enums)
        out.append(int(pgconn.exec_(b"begin").status))
        out.append((conn.info.transaction_status, int(pgconn.transaction_status)))
        res = pgconn.exec_(b"select 1, 'a'")
        out.append((int(res.status), res.ntuples, res.get_value(0, 0), res.get_value(0, 1)))
        bad = pgconn.exec_(b"select nosuchcolumn")
        out.append((int(bad.status), bad.error_field(mod.pq.DiagnosticField.SQLSTATE)))
        out.append(bad.error_message.decode().splitlines())
        out.append(conn.info.transaction_status)
        conn.rollback()
        out.append((conn.info.transaction_status, pgconn.error_message))
    return out


def test_pgconn_exec_matches_psycopg(pg_cluster):
    assert repr(_pgconn_exec(bp, pg_cluster.conninfo)) == repr(_pgconn_exec(psycopg, pg_cluster.conninfo))


def _pgconn_parameters(lib: Any, conninfo: str) -> list[Any]:
    conn = lib.connect(conninfo)
    names = ("db", "host", "hostaddr", "user", "password", "options", "port")
    out: list[Any] = [getattr(conn.pgconn, name) for name in names]
    conn.close()
    out += [_outcome(lambda name=name: getattr(conn.pgconn, name)) for name in names]
    return out


def test_pgconn_connection_parameters_like_psycopg(pg_cluster):
    # libpq's PQdb/PQhost/...: bytes, and OperationalError once the connection is closed.
    assert _pgconn_parameters(bp, pg_cluster.conninfo) == _pgconn_parameters(psycopg, pg_cluster.conninfo)


def _statuses_in_pipeline(lib: Any, conninfo: str, autocommit: bool) -> list[Any]:
    with lib.connect(conninfo, autocommit=autocommit) as conn:
        out: list[Any] = [conn.info.pipeline_status, conn.info.transaction_status]
        with conn.pipeline():
            out += [conn.info.pipeline_status, conn.info.transaction_status]
            cur = conn.execute("select 1")
            out += [conn.info.transaction_status, conn.pgconn.transaction_status]
            out.append(cur.fetchone())
            out.append(conn.info.transaction_status)
            with conn.transaction():
                conn.execute("select 2")
                out.append(conn.info.transaction_status)
            out.append(conn.info.transaction_status)
        out += [conn.info.pipeline_status, conn.info.transaction_status]
        return out


@pytest.mark.parametrize("autocommit", [True, False])
def test_statuses_in_pipeline_like_psycopg(pg_cluster, autocommit):
    # psycopg: pipeline_status ON inside the block; transaction_status ACTIVE while
    # statements sent in it wait for their results.
    expected = _statuses_in_pipeline(psycopg, pg_cluster.conninfo, autocommit)
    assert _statuses_in_pipeline(bp, pg_cluster.conninfo, autocommit) == expected
