"""Two-phase commit (``Xid``, ``tpc_*``), differential against psycopg.

The same session runs through psycopg and then through balrog on one server (the test
cluster has max_prepared_transactions = 10); every step's outcome must be equal. Each run
finishes or rolls back everything it prepares, so both see the same server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def _outcome(run: Callable[..., Any], *args: Any) -> Any:
    try:
        value = run(*args)
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))
    return _plain(value)


def _plain(value: Any) -> Any:
    """An Xid (or a list of them) as comparable data; datetimes reduced to their type."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "Xid":
        prepared = value.prepared
        return (
            "Xid",
            value.format_id,
            value.gtrid,
            value.bqual,
            str(value),
            tuple(value),
            type(prepared).__name__ if prepared is not None else None,
            getattr(prepared, "tzinfo", None) is not None,
            value.owner,
            value.database,
        )
    return value


XID_INPUTS: list[tuple[str, tuple[Any, ...]]] = [
    ("from_parts", (42, "gtrid", "bqual")),
    ("from_parts", (None, "just a string", None)),
    ("from_parts", (1, "g", None)),
    ("from_parts", (None, "g", "b")),
    ("from_parts", (-1, "g", "b")),
    ("from_parts", (2**31, "g", "b")),
    ("from_parts", (1, "g" * 65, "b")),
    ("from_parts", (1, "g", "b" * 65)),
    ("from_parts", (0, "ünï", "")),
    ("from_string", ("42_Z3RyaWQ=_YnF1YWw=",)),
    ("from_string", ("plain id",)),
    ("from_string", ("1_!!_??",)),
    ("from_string", ("3000000000_YQ==_Yg==",)),
    ("from_string", ("1__",)),
]


def test_xid_like_psycopg():
    for method, args in XID_INPUTS:
        want = _outcome(getattr(psycopg.Xid, method), *args)
        got = _outcome(getattr(bp.Xid, method), *args)
        assert got == want, (method, args)
    assert bp.Xid.from_parts(1, "a", "b") == bp.Xid.from_parts(1, "a", "b")
    assert repr(bp.Xid.from_parts(1, "a", "b")) == repr(psycopg.Xid.from_parts(1, "a", "b"))


def _session(lib: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo) as conn, lib.connect(conninfo, autocommit=True) as other:
        conn.execute("create table if not exists tpc_t (id int, who text)")
        conn.execute("delete from tpc_t")
        conn.commit()
        status = conn.info.transaction_status

        def count() -> int:
            return other.execute("select count(*) from tpc_t").fetchone()[0]  # type: ignore[no-any-return]

        xid = conn.xid(7, "balrog-gtrid", "branch")
        seen.append(_plain(xid))
        # Misuse, before anything starts.
        seen.append(_outcome(conn.tpc_prepare))
        seen.append(_outcome(conn.tpc_commit))
        seen.append(_outcome(conn.tpc_rollback))
        with lib.connect(conninfo, autocommit=True) as auto:
            seen.append(_outcome(auto.tpc_begin, xid))
        conn.execute("select 1")
        seen.append(_outcome(conn.tpc_begin, xid))
        conn.rollback()

        # Prepared, recovered elsewhere, committed by this connection.
        conn.tpc_begin(xid)
        seen.append(conn.info.transaction_status.name)
        conn.execute("insert into tpc_t values (1, 'two-phase')")
        seen.append(_outcome(conn.commit))
        seen.append(_outcome(conn.rollback))
        seen.append(_outcome(conn.tpc_commit, xid))
        conn.tpc_prepare()
        seen.append(conn.info.transaction_status.name)
        seen.append(_outcome(conn.tpc_prepare))
        seen.append(_outcome(conn.cancel))
        seen.append(count())
        seen.append([_plain(x) for x in other.tpc_recover() if x.gtrid == "balrog-gtrid"])
        conn.tpc_commit()
        seen.append((count(), conn.info.transaction_status.name))

        # One phase: tpc_commit without tpc_prepare.
        conn.tpc_begin("one-phase")
        conn.execute("insert into tpc_t values (2, 'one phase')")
        conn.tpc_commit()
        seen.append((count(), conn.info.transaction_status.name))

        # Rolled back after prepare, by the same connection.
        conn.tpc_begin(conn.xid(8, "rolled", "back"))
        conn.execute("insert into tpc_t values (3, 'rolled back')")
        conn.tpc_prepare()
        conn.tpc_rollback()
        seen.append((count(), conn.info.transaction_status.name))

        # Prepared by one connection, finished by another with the id (Xid and string).
        for finish in ("commit", "rollback"):
            gid = f"finish-{finish}"
            # (closed, not left by `with`: its exit would commit(), refused in two-phase)
            preparer = lib.connect(conninfo)
            preparer.tpc_begin(gid)
            preparer.execute("insert into tpc_t values (4, %s)", [finish])
            preparer.tpc_prepare()
            preparer.close()
            recovered = [x for x in other.tpc_recover() if x.gtrid == gid]
            seen.append(_plain(recovered))
            with lib.connect(conninfo) as third:
                status_before = third.info.transaction_status.name
                getattr(third, f"tpc_{finish}")(recovered[0] if finish == "commit" else gid)
                seen.append((status_before, third.info.transaction_status.name))
            seen.append(count())
        # tpc_recover leaves an idle connection idle.
        seen.append((status.name, _plain(conn.tpc_recover()), conn.info.transaction_status.name))
        seen.append(_outcome(conn.tpc_commit, "no-such-transaction"))
        conn.execute("drop table tpc_t")
        conn.commit()
    return seen


def test_two_phase_commit_like_psycopg(pg_cluster):
    want = _session(psycopg, pg_cluster.conninfo)
    got = _session(bp, pg_cluster.conninfo)
    for expected, value in zip(want, got, strict=True):
        assert value == expected


def test_prepared_id_in_use(pg_cluster):
    a, b = bp.connect(pg_cluster.conninfo), bp.connect(pg_cluster.conninfo)
    a.tpc_begin("dup-id")
    a.tpc_prepare()
    b.tpc_begin("dup-id")
    with pytest.raises(bp.errors.DuplicateObject):
        b.tpc_prepare()
    a.tpc_rollback()
    a.close()
    b.close()
