"""``%b`` placeholders: parameters in PostgreSQL's binary format, differential with psycopg.

Every builtin type psycopg dumps in binary must go out the same way: the server reads it
back into the same value and type (``pg_typeof``), and bad input fails with the same error.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes

UTC_MINUS_3 = dt.timezone(dt.timedelta(hours=-3))
UTC_PLUS_530 = dt.timezone(dt.timedelta(hours=5, minutes=30))
VALUES: list[Any] = [
    0, 1, -1, 32767, 32768, -32769, 2**31, -(2**63), 2**63, -(2**70),
    1.5, -0.0, float("inf"), float("nan"), True, False,
    Decimal("0"), Decimal("1.50"), Decimal("-123456789.000123456789"), Decimal("1e30"), Decimal("1E-30"),
    Decimal("NaN"), Decimal("-Infinity"), Decimal("0.0001"), Decimal("12345.6789"), Decimal("100000000"),
    dt.date(2000, 1, 1), dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1999, 12, 31),
    dt.time(0, 0), dt.time(23, 59, 59, 999999), dt.time(12, 30, tzinfo=UTC_PLUS_530),
    dt.datetime(2020, 5, 6, 7, 8, 9, 123456), dt.datetime(1, 1, 1),
    dt.datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC_MINUS_3),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.timedelta(0), dt.timedelta(days=-1, seconds=5, microseconds=7), dt.timedelta(days=400, hours=5),
    uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ipaddress.ip_address("1.2.3.4"), ipaddress.ip_address("::1"), ipaddress.ip_interface("192.168.0.1/24"),
    ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"),
    "text", b"\x00bytes", None,
    [1, 2, None], [[1, 2], [3, 4]], ["a", None, "b c"], [], [Decimal("1.5")], [dt.date(2020, 1, 1)],
    [True], [b"\x00"], [[None]], [2**40, 1], [1.5, None],
    [[1, 2], [3]], [1, "a"], [[1], 2], [None], [None, None],
]  # fmt: skip


def _outcome(conn: Any, query: str, params: Any) -> Any:
    try:
        return repr(conn.execute(query, params).fetchone())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def _values(lib: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        return [_outcome(conn, "select %b, pg_typeof(%b)::text", [value, value]) for value in VALUES]


def test_binary_values_like_psycopg(pg_cluster):
    got_all, want_all = _values(bp, pg_cluster.conninfo), _values(psycopg, pg_cluster.conninfo)
    for value, got, want in zip(VALUES, got_all, want_all, strict=True):
        assert got == want, value


def _typeless_lists(lib: Any, conninfo: str) -> list[Any]:
    # Lists with no element to tell their type go as text with no oid (as psycopg), so the
    # server fits them to the cast.
    with lib.connect(conninfo, autocommit=True) as conn:
        return [
            _outcome(conn, f"select %b::{cast}", [value])
            for cast in ("int4[]", "text[]", "date[]", "int8[][]")
            for value in ([], [None], [None, None], [[None]])
        ]


def test_typeless_lists_like_psycopg(pg_cluster):
    assert _typeless_lists(bp, pg_cluster.conninfo) == _typeless_lists(psycopg, pg_cluster.conninfo)


def _session(lib: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("create temporary table bin_t (a int, b date, c text)")
        cur = conn.cursor()
        cur.executemany(
            "insert into bin_t values (%b, %b, %b)", [(1, dt.date(2020, 1, 1), "x"), (2, None, "y")]
        )
        seen.append(conn.execute("select * from bin_t order by a").fetchall())
        seen.append(_outcome(conn, "select %b::int8", [2**70]))
        seen.append(_outcome(conn, "select %(x)b + %(x)b", {"x": 20}))
        seen.append(_outcome(conn, "select %b, %t, %s", [Decimal("2.5"), Decimal("2.5"), Decimal("2.5")]))
    return seen


def test_binary_executemany_and_named_like_psycopg(pg_cluster):
    assert _session(bp, pg_cluster.conninfo) == _session(psycopg, pg_cluster.conninfo)
