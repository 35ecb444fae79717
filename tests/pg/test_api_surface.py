"""psycopg's public API, name by name and side by side: what exists, reprs, descriptions,
transaction status, raw-query cursors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def _public(obj: Any) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def test_module_exports_everything_psycopg_does():
    wanted = set(psycopg.__all__)
    assert sorted(wanted - set(bp.__all__)) == []
    assert all(hasattr(bp, name) for name in wanted)
    assert bp.version.__version__ == bp.__version__


@pytest.mark.parametrize(
    "name",
    ["Connection", "Cursor", "ClientCursor", "ServerCursor", "RawCursor", "RawServerCursor", "Transaction",
     "Column", "ConnectionInfo", "Xid", "Capabilities", "Pipeline", "Copy",
     "AsyncConnection", "AsyncCursor", "AsyncClientCursor", "AsyncServerCursor", "AsyncRawCursor",
     "AsyncRawServerCursor", "AsyncTransaction", "AsyncPipeline", "AsyncCopy"],
)  # fmt: skip
def test_classes_have_psycopg_public_attributes(name):
    missing = _public(getattr(psycopg, name)) - _public(getattr(bp, name))
    # Internal hooks of psycopg's libpq machinery; and attributes balrog sets on the
    # instance (checked on instances in test_instance_attributes).
    missing -= {"wait", "pgconn", "pgresult", "writer", "info", "arraysize", "format", "itersize"}
    assert sorted(missing) == []


def test_instance_attributes(pg_cluster):
    with bp.connect(pg_cluster.conninfo) as conn:
        assert conn.info.dbname
        for cur in (conn.cursor(), bp.ClientCursor(conn), conn.cursor("named"), bp.RawCursor(conn)):
            assert cur.arraysize == 1 and cur.format == bp.pq.Format.TEXT
        assert conn.cursor("other").itersize == 100


def test_dbapi_extras(pg_cluster):
    with bp.connect(pg_cluster.conninfo) as conn:
        assert conn.Error is bp.Error and conn.ProgrammingError is bp.ProgrammingError
        cur = conn.cursor()
        cur.setinputsizes([10])
        cur.setoutputsize(100)
        cur.setoutputsize(100, 0)
        assert conn.info.full_protocol_version == 30000
    assert bp.capabilities.has_pipeline() and bp.capabilities.has_stream_chunked(check=True)
    assert not bp.capabilities.has_used_gssapi()
    with pytest.raises(bp.NotSupportedError):
        bp.capabilities.has_used_gssapi(check=True)


DESCRIBED = (
    "select 1::int4 as a, 'a'::varchar(42), 1.5::numeric(10,2), 1.5::numeric, 1::numeric(5,-2),"
    " now()::timestamptz(3), now()::timestamp, '1 day'::interval(2), '1 day'::interval day to second,"
    " array[1]::int4[], array['x']::varchar(5)[], 'x'::char(3), B'101'::bit(3), B'1'::varbit(8),"
    " '{}'::jsonb, 'a'::text, now()::time(0), 'x'::name, row(1,2), 1.5::float4, '[1,2)'::int4range,"
    " gen_random_uuid(), '1.2.3.4'::inet, 12::oid, 'pg_class'::regclass, null"
)


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_description_like_psycopg(pg_cluster, cursor_class):
    with (
        psycopg.connect(pg_cluster.conninfo, autocommit=True) as ref,
        bp.connect(pg_cluster.conninfo, autocommit=True) as conn,
    ):
        want = getattr(psycopg, cursor_class)(ref).execute(DESCRIBED).description
        got = getattr(bp, cursor_class)(conn).execute(DESCRIBED).description
    assert [tuple(c) for c in got] == [tuple(c) for c in want]
    assert [c.type_display for c in got] == [c.type_display for c in want]
    assert [repr(c) for c in got] == [repr(c) for c in want]


def _reprs(lib: Any, conninfo: str, socket_conninfo: str) -> list[str]:
    seen: list[str] = []
    with lib.connect(conninfo) as conn:
        seen.append(repr(conn))
        cur = conn.cursor()
        seen.append(repr(cur))
        cur.execute("select 1")
        seen.append(repr(cur))
        seen.append(repr(conn.cursor("named")))
        with conn.transaction("sp") as tx:
            seen.append(repr(tx))
        seen.append(repr(tx))
        with conn.pipeline() as pipeline:
            seen.append(repr(pipeline))
            seen.append(repr(conn))
        cur.close()
        seen.append(repr(cur))
    seen.append(repr(conn))
    with lib.connect(socket_conninfo) as conn:
        seen.append(repr(conn))
    return [re.sub(r"0x[0-9a-f]+", "0x", text) for text in seen]


def test_reprs_like_psycopg(pg_cluster):
    socket = f"host={pg_cluster.socket_dir} port={pg_cluster.port} user=postgres dbname=postgres"
    assert _reprs(bp, pg_cluster.conninfo, socket) == _reprs(psycopg, pg_cluster.conninfo, socket)


def _statuses(lib: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo) as conn:
        for body in (None, lib.Rollback, ZeroDivisionError):
            try:
                with conn.transaction() as inside:
                    seen.append(inside.status.value)
                    if body is lib.Rollback:
                        raise lib.Rollback(inside)
                    if body is ZeroDivisionError:
                        1 / 0  # noqa: B018
            except ZeroDivisionError:
                pass
            seen.append(inside.status.value)
            seen.append(isinstance(inside.status, str))
        with conn.transaction(force_rollback=True) as forced:
            pass
        seen.append(forced.status.value)
        with pytest.raises(TypeError):
            with forced:
                pass
    return seen


def test_transaction_status_like_psycopg(pg_cluster):
    assert _statuses(bp, pg_cluster.conninfo) == _statuses(psycopg, pg_cluster.conninfo)
    assert [s.value for s in bp.Transaction.Status] == [s.value for s in psycopg.Transaction.Status]


def _outcome(run: Callable[..., Any], *args: Any) -> Any:
    try:
        return run(*args)
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def _raw_session(lib: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        cur = lib.RawCursor(conn)
        seen.append(cur.execute("select $1::int + $2, '100%'", [1, 2]).fetchall())
        seen.append(cur.execute("select $2, $1", ("a", "b")).fetchall())
        seen.append(cur.execute("select '%s', 1").fetchall())
        seen.append(_outcome(cur.execute, "select $1", {"a": 1}))
        seen.append(_outcome(cur.execute, "select $1", "ab"))
        seen.append(_outcome(cur.execute, "select %s", [1]))
        cur.execute("create temporary table raw_t (id int, name text)")
        cur.executemany("insert into raw_t values ($1, $2)", [(1, "x%"), (2, None)])
        seen.append(cur.rowcount)
        seen.append(cur.execute("select * from raw_t order by id").fetchall())
        seen.append(_outcome(cur.executemany, "insert into raw_t values ($1, $2)", [{"a": 1}]))
        seen.append(list(cur.stream("select generate_series(1, $1)", [3])))
        with conn.transaction():
            named = lib.RawServerCursor(conn, "raw_named")
            named.execute("select x, '%' from generate_series(1, $1) x", [4])
            seen.append(named.fetchmany(2))
            seen.append(named.fetchall())
            named.close()
        factory_cursor = conn.cursor()
        conn.cursor_factory = lib.RawCursor
        seen.append((type(factory_cursor).__name__, type(conn.cursor()).__name__))
        seen.append(conn.execute("select $1 + 1", [5]).fetchone())
    return seen


def test_raw_cursors_like_psycopg(pg_cluster):
    assert _raw_session(bp, pg_cluster.conninfo) == _raw_session(psycopg, pg_cluster.conninfo)


INFO_ATTRIBUTES = [
    "backend_pid", "server_version", "transaction_status", "pipeline_status", "encoding", "timezone", "host",
    "hostaddr", "port", "dbname", "user", "password", "options", "vendor", "status", "full_protocol_version",
]  # fmt: skip


def _closed_info(lib: Any, conninfo: str) -> list[Any]:
    conn = lib.connect(conninfo)
    conn.close()
    seen = [(name, _outcome(getattr, conn.info, name)) for name in INFO_ATTRIBUTES]
    seen.append(_outcome(conn.info.parameter_status, "TimeZone"))
    seen.append(_outcome(conn.info.get_parameters))
    return [(name, value if isinstance(value, tuple) else str(value)) for name, value in seen[:-2]] + [
        value if isinstance(value, tuple) else "ok" for value in seen[-2:]
    ]


def test_closed_connection_info_like_psycopg(pg_cluster):
    assert _closed_info(bp, pg_cluster.conninfo) == _closed_info(psycopg, pg_cluster.conninfo)


def _server_cursor_session(lib: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo) as conn:
        # A cursor declared by SQL, read through a named cursor object ("stealing" it).
        conn.execute("declare stolen cursor for select generate_series(1, 5)")
        stolen = conn.cursor("stolen")
        seen.append(stolen.fetchmany(2))
        seen.append((stolen.rownumber, stolen.rowcount, [c.name for c in stolen.description]))
        seen.append(stolen.fetchall())
        stolen.close()
        missing = conn.cursor("missing")
        outcome = _outcome(missing.fetchone)
        seen.append(outcome[:2] if isinstance(outcome, tuple) else outcome)
        conn.rollback()
        # Several statements cannot be declared.
        seen.append(_outcome(conn.cursor("multi").execute, "select 1; select 2"))
        seen.append(conn.info.transaction_status.name)
        conn.rollback()
        named = conn.cursor("counted", scrollable=True)
        named.execute("select generate_series(1, 10)")
        named.fetchmany(3)
        named.scroll(2)
        seen.append((named.fetchone(), named.rownumber, named.rowcount))
    return seen


def test_server_cursor_stealing_and_declare_like_psycopg(pg_cluster):
    assert _server_cursor_session(bp, pg_cluster.conninfo) == _server_cursor_session(
        psycopg, pg_cluster.conninfo
    )


def _pgresult_view(lib: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo) as conn:
        cur = conn.execute("select 1::int4 as a, null::text as b, 2.5::numeric(4,2), 'x'::varchar(3)")
        res = cur.pgresult
        columns = range(4)
        return [
            [res.fformat(i) for i in columns],
            [res.ftype(i) for i in columns],
            [res.fname(i) for i in columns],
            [res.fmod(i) for i in columns],
            [res.fsize(i) for i in columns],
            [res.get_value(0, i) for i in columns],
            (res.ntuples, res.nfields, res.status),
        ]


def test_pgresult_accessors_like_psycopg(pg_cluster):
    assert _pgresult_view(bp, pg_cluster.conninfo) == _pgresult_view(psycopg, pg_cluster.conninfo)


def _zoneinfo_time(lib: Any, conninfo: str) -> list[Any]:
    import zoneinfo

    value = dt.time(12, tzinfo=zoneinfo.ZoneInfo("Europe/Rome"))
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        for placeholder in ("%s", "%t", "%b"):
            try:
                seen.append(conn.execute(f"select {placeholder}", [value]).fetchone())
            except lib.DataError as exc:
                seen.append(("DataError", str(exc)))
        seen.append(lib.ClientCursor(conn).execute("select 1").fetchone())
    return seen


def test_time_with_a_zone_of_rules_like_psycopg(pg_cluster):
    assert _zoneinfo_time(bp, pg_cluster.conninfo) == _zoneinfo_time(psycopg, pg_cluster.conninfo)


def _unknown_timezone(lib: Any, conninfo: str, caplog: Any, name: str) -> list[Any]:
    import logging

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="psycopg"), lib.connect(conninfo) as conn:
        conn.execute(f"set timezone to '{name}'")
        first = conn.info.timezone
        conn.info.timezone  # noqa: B018 - a second look logs nothing more
        return [first, [r.getMessage() for r in caplog.records if r.name == "psycopg"]]


def test_unknown_timezone_like_psycopg(pg_cluster, caplog, balrog_mode):
    # Both libraries warn once per zone name and process: a name of its own per mode.
    name = f"FOO{balrog_mode.upper()}0"
    want = _unknown_timezone(psycopg, pg_cluster.conninfo, caplog, name)
    assert _unknown_timezone(bp, pg_cluster.conninfo, caplog, name) == want
    assert want == [dt.UTC, [f"unknown PostgreSQL timezone: '{name}'; will use UTC"]]
