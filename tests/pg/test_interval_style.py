"""Intervals sent as parameters mean the same under every IntervalStyle.

Under `sql_standard` a sign written on the first field only applies to every field, so the
text `-1 day 0:00:05` would be read as -86405 s instead of -86395 s. Differential against
psycopg, server-side binding (the native encoder) and client-side (ClientCursor).
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes

STYLES = ["postgres", "postgres_verbose", "sql_standard", "iso_8601"]
VALUES = [
    dt.timedelta(days=-1, seconds=5),
    dt.timedelta(days=-1, seconds=5, microseconds=7),
    dt.timedelta(days=3, seconds=-1),
    dt.timedelta(microseconds=-1),
    dt.timedelta(days=-400, hours=25),
    dt.timedelta(0),
    dt.timedelta(days=999999999, seconds=86399, microseconds=999999),
]


def read_back(module, dsn: str, style: str, cursor_factory_name: str) -> list[object]:
    with module.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET IntervalStyle = {style}")
        cursor_class = getattr(module, cursor_factory_name)
        cur = cursor_class(conn)
        out = []
        for value in VALUES:
            cur.execute("SELECT extract(epoch FROM %s::interval)::numeric", (value,))
            out.append(cur.fetchone()[0])
        return out


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_interval_parameters_keep_their_value(pg_cluster, style: str, cursor_class: str) -> None:
    expected = [round(v.total_seconds(), 6) for v in VALUES]
    got = read_back(bp, pg_cluster.dsn, style, cursor_class)
    assert [round(float(v), 6) for v in got] == expected
    assert got == read_back(psycopg, pg_cluster.dsn, style, cursor_class)
