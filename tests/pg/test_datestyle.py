"""Dates and timestamps under every DateStyle, intervals under every IntervalStyle.

Differential against psycopg on the same server: every DateStyle × order × time zone, each
sample value (min/max, BC, infinity, years past 9999, fractions, offsets) alone, in arrays
and ranges, fetched through every path (execute, parameters, several statements, stream,
server-side cursor, pipeline, ``load()`` called directly). Values and error classes and
messages must be the same: timestamptz and interval are not parsed in styles psycopg does
not parse either (NotImplementedError), overflow is a DataError saying "too small"/"too
large".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes

DATESTYLES = [
    f"{style}, {order}" for style in ("ISO", "SQL", "German", "Postgres") for order in ("DMY", "MDY", "YMD")
]
TIMEZONES = ["UTC", "Europe/Rome", "America/St_Johns"]

SCALARS = [
    "'2024-01-02'::date",
    "'2024-12-31'::date",
    "'0001-01-01'::date",
    "'9999-12-31'::date",
    "'0001-01-01 BC'::date",
    "'0044-03-15 BC'::date",
    "'10000-01-01'::date",
    "'infinity'::date",
    "'-infinity'::date",
    "'2024-01-02 03:04:05'::timestamp",
    "'2024-12-31 23:59:59.5'::timestamp",
    "'2024-02-29 00:00:00.000001'::timestamp",
    "'2024-07-08 09:10:11.123456'::timestamp",
    "'2024-07-08 09:10:11.12'::timestamp",
    "'0001-01-01 00:00'::timestamp",
    "'9999-12-31 23:59:59.999999'::timestamp",
    "'0001-01-01 BC'::timestamp",
    "'1000-01-01 12:00 BC'::timestamp",
    "'10000-01-01 12:00'::timestamp",
    "'infinity'::timestamp",
    "'-infinity'::timestamp",
    "'2024-01-02 03:04:05+00'::timestamptz",
    "'2024-07-08 09:10:11.123456+02'::timestamptz",
    "'2024-01-02 03:04:05-03:30'::timestamptz",
    "'1900-01-01 00:00:00+00'::timestamptz",
    "'0001-01-01 12:00+00'::timestamptz",
    "'9999-12-31 12:00+00'::timestamptz",
    "'1000-01-01 12:00+00 BC'::timestamptz",
    "'10000-01-01 12:00+00'::timestamptz",
    "'infinity'::timestamptz",
    "'-infinity'::timestamptz",
    "'12:34:56.789'::time",
    "'12:34:56+05:30'::timetz",
    "'1 year 2 mons 3 days 04:05:06.5'::interval",
]
COMPOSED = [
    "array['2024-01-02'::date, null, '1999-12-31']",
    "array[['2024-01-02'::date], ['2024-01-13'::date]]",
    "array['2024-01-02 03:04:05.6'::timestamp, null]",
    "array['2024-01-02 03:04:05+01'::timestamptz]",
    "daterange('2024-01-02', '2024-02-13')",
    "daterange('2024-01-02', null)",
    "tsrange('2024-01-02 03:04', '2024-02-13 10:00')",
    "tstzrange('2024-01-02 03:04+00', '2024-02-13 10:00+00')",
    "datemultirange(daterange('2024-01-02', '2024-01-05'), daterange('2024-03-01', '2024-03-09'))",
    "array[daterange('2024-01-02', '2024-01-05')]",
]


def _outcome(fetch: Callable[[], Any]) -> Any:
    try:
        return repr(fetch())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def _session(lib: Any, conninfo: str, datestyle: str, timezone: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"SET DateStyle = '{datestyle}'")
        conn.execute(f"SET TimeZone = '{timezone}'")
        out: list[Any] = []
        for expr in SCALARS + COMPOSED:
            cur = conn.execute(f"SELECT {expr}")
            out.append((expr, _outcome(lambda cur=cur: cur.fetchone()[0])))
        return out


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("datestyle", DATESTYLES)
def test_values_like_psycopg(pg_cluster, datestyle: str, timezone: str) -> None:
    got = _session(bp, pg_cluster.conninfo, datestyle, timezone)
    want = _session(psycopg, pg_cluster.conninfo, datestyle, timezone)
    for g, w in zip(got, want, strict=True):
        assert g == w


def test_non_iso_dates_are_read(pg_cluster) -> None:
    # Not only "the same as psycopg": the right dates (day and month not swapped).
    import datetime as dt

    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        for style in DATESTYLES:
            conn.execute(f"SET DateStyle = '{style}'")
            row = conn.execute("SELECT '2024-01-13'::date, '2024-01-13 14:15:16.5'::timestamp").fetchone()
            assert row == (dt.date(2024, 1, 13), dt.datetime(2024, 1, 13, 14, 15, 16, 500000)), style


def _mid_session(lib: Any, conninfo: str) -> list[Any]:
    out: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        cur = conn.cursor()
        for style in ("SQL, DMY", "German", "ISO", "Postgres, MDY", "SQL, MDY"):
            conn.execute(f"SET DateStyle = '{style}'")
            query = f"SELECT '2024-01-13'::date, '2024-01-13 14:15'::timestamp -- {style}"
            out.append(_outcome(lambda query=query: cur.execute(query).fetchall()))
            out.append(conn.info.parameter_status("DateStyle"))
        # Several statements in one execute: the SELECT is written in the new style.
        cur.execute("SET DateStyle = 'German'; SELECT '2024-01-13'::date")
        cur.nextset()
        out.append(_outcome(cur.fetchall))
        # A SET rolled back: the server reports the old style again.
        conn.autocommit = False
        conn.execute("SET DateStyle = 'SQL, DMY'")
        out.append(_outcome(lambda: conn.execute("SELECT '2024-01-13'::date").fetchone()))
        conn.rollback()
        out.append(conn.info.parameter_status("DateStyle"))
        out.append(_outcome(lambda: conn.execute("SELECT '2024-01-13'::date").fetchone()))
        conn.rollback()
    return out


def test_set_datestyle_mid_session(pg_cluster) -> None:
    assert _mid_session(bp, pg_cluster.conninfo) == _mid_session(psycopg, pg_cluster.conninfo)


def test_same_query_follows_datestyle(pg_cluster) -> None:
    # The same query object executed again keeps its loader choice (psycopg keeps even its
    # loader instances, and then misreads rows after a SET DateStyle): balrog decodes each
    # result in the style its rows were written in.
    import datetime as dt

    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        cur = conn.cursor()
        query = "SELECT '2024-01-13'::date, '2024-01-13 14:15'::timestamp"
        for style in ("SQL, DMY", "German", "ISO", "Postgres, MDY", "SQL, MDY", "Postgres, DMY"):
            conn.execute(f"SET DateStyle = '{style}'")
            assert cur.execute(query).fetchall() == [(dt.date(2024, 1, 13), dt.datetime(2024, 1, 13, 14, 15))]


def _fetch_paths(lib: Any, conninfo: str, datestyle: str) -> list[Any]:
    import datetime as dt

    out: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"SET DateStyle = '{datestyle}'")
        params = (dt.date(2024, 1, 13), dt.datetime(2024, 1, 13, 14, 15, 16, 7))
        query = "SELECT %s::date, %s::timestamp, generate_series(1, 3)"
        out.append(_outcome(lambda: conn.execute(query, params).fetchall()))
        out.append(_outcome(lambda: conn.execute(query, params, prepare=True).fetchall()))
        out.append(_outcome(lambda: lib.ClientCursor(conn).execute(query, params).fetchall()))
        out.append(_outcome(lambda: list(conn.cursor().stream(query, params))))
        conn.autocommit = False
        with conn.cursor("named") as named:
            named.execute(query, params)
            out.append(_outcome(named.fetchall))
        conn.rollback()
        conn.autocommit = True
        with conn.pipeline():
            cur = conn.execute(query, params)
        out.append(_outcome(cur.fetchall))
    return out


@pytest.mark.parametrize("datestyle", ["ISO, MDY", "SQL, DMY", "German", "Postgres, DMY", "Postgres, MDY"])
def test_fetch_paths_like_psycopg(pg_cluster, datestyle: str) -> None:
    got = _fetch_paths(bp, pg_cluster.conninfo, datestyle)
    assert got == _fetch_paths(psycopg, pg_cluster.conninfo, datestyle)


def _direct_loads(lib: Any, conninfo: str, datestyle: str) -> list[Any]:
    # load() called directly (a subclass's super().load, a composite's field) with the
    # text the server writes in this style.
    out: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"SET DateStyle = '{datestyle}'")
        conn.execute("SET TimeZone = 'Europe/Rome'")
        for expr in SCALARS:
            name = expr.rsplit("::", 1)[1]
            text = conn.execute(f"SELECT ({expr})::text").fetchone()[0].encode()
            oid = conn.adapters.types[name].oid
            loader = conn.adapters.get_loader(oid, psycopg.pq.Format.TEXT)(oid, conn)
            out.append((expr, text, _outcome(lambda text=text, loader=loader: loader.load(text))))
    return out


@pytest.mark.parametrize(
    "datestyle", ["ISO, DMY", "SQL, DMY", "SQL, MDY", "German", "Postgres, DMY", "Postgres, MDY"]
)
def test_loader_load_like_psycopg(pg_cluster, datestyle: str) -> None:
    got = _direct_loads(bp, pg_cluster.conninfo, datestyle)
    want = _direct_loads(psycopg, pg_cluster.conninfo, datestyle)
    for g, w in zip(got, want, strict=True):
        assert g == w


INTERVALS = [
    "'1 year 2 mons 3 days 04:05:06.5'::interval",
    "'-1 day 00:00:05'::interval",
    "'0'::interval",
]


def _intervals(lib: Any, conninfo: str, style: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"SET IntervalStyle = {style}")
        out = [_outcome(lambda expr=expr: conn.execute(f"SELECT {expr}").fetchone()[0]) for expr in INTERVALS]
        oid = conn.adapters.types["interval"].oid
        loader = conn.adapters.get_loader(oid, psycopg.pq.Format.TEXT)(oid, conn)
        out.append(_outcome(lambda: loader.load(b"1 day 02:00:00")))
        return out


@pytest.mark.parametrize("style", ["postgres", "postgres_verbose", "sql_standard", "iso_8601"])
def test_interval_styles_like_psycopg(pg_cluster, style: str) -> None:
    assert _intervals(bp, pg_cluster.conninfo, style) == _intervals(psycopg, pg_cluster.conninfo, style)


def _copy_rows(lib: Any, conninfo: str, style: str) -> Any:
    with lib.connect(conninfo) as conn:
        conn.execute(f"set datestyle = '{style}'")
        cur = conn.cursor()
        query = (
            "copy (select '2024-01-13'::date, '2024-01-13 10:00:01.5'::timestamp,"
            " array['2024-01-13'::date, null]) to stdout"
        )
        with cur.copy(query) as copy:
            copy.set_types(["date", "timestamp", "date[]"])
            return list(copy.rows())


@pytest.mark.parametrize("style", ["ISO, DMY", "German, DMY", "SQL, MDY", "Postgres, YMD"])
def test_copy_to_text_under_datestyle_like_psycopg(pg_cluster, style):
    want = _copy_rows(psycopg, pg_cluster.conninfo, style)
    assert _copy_rows(bp, pg_cluster.conninfo, style) == want
