"""``%s`` sends dates, times, timestamps, intervals and UUIDs in binary, as psycopg does
(balrog-pg encode_binary.rs): the server must see the same values as from psycopg, in any
session TimeZone, for the whole range Python can represent."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
ODD = dt.timezone(dt.timedelta(hours=-3, minutes=-25, seconds=-7))

VALUES: list[Any] = [
    dt.date(1, 1, 1),
    dt.date(1999, 12, 31),
    dt.date(2000, 1, 1),
    dt.date(2024, 2, 29),
    dt.date(9999, 12, 31),
    dt.datetime(1, 1, 1, 0, 0, 0),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999_999),
    dt.datetime(2024, 2, 29, 12, 30, 1, 5),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999_999),
    dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC),
    dt.datetime(1900, 5, 1, 10, 0, tzinfo=ODD),
    dt.datetime(2023, 11, 5, 1, 30, tzinfo=NEW_YORK),  # ambiguous: fold 0
    dt.datetime(2023, 11, 5, 1, 30, fold=1, tzinfo=NEW_YORK),
    dt.datetime(1, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    dt.time(0, 0),
    dt.time(23, 59, 59, 999_999),
    dt.time(12, 0, tzinfo=dt.UTC),
    dt.time(12, 0, 0, 1, tzinfo=ODD),
    dt.time(1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=13, seconds=30))),
    dt.timedelta(0),
    dt.timedelta(days=-1, seconds=5),
    dt.timedelta(days=999_999_999, seconds=86399, microseconds=999_999),
    dt.timedelta(days=-999_999_999),
    dt.timedelta(microseconds=-1),
    uuid.UUID(int=0),
    uuid.UUID(int=2**128 - 1),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
]


def _outcome(mod: Any, conninfo: str, value: Any, zone: str) -> tuple[str, Any]:
    with mod.connect(conninfo) as conn:
        conn.execute(f"set timezone to '{zone}'")
        try:
            return "ok", conn.execute(
                "select %s, pg_typeof(%s)::text, %s::text", (value, value, value)
            ).fetchone()
        except Exception as ex:
            return type(ex).__name__, str(ex).splitlines()[0]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_as_psycopg(pg_cluster, value: Any, zone: str) -> None:
    got = _outcome(bp, pg_cluster.conninfo, value, zone)
    want = _outcome(psycopg, pg_cluster.conninfo, value, zone)
    assert got == want
    assert got[0] == "ok"


class NoOffset(dt.tzinfo):
    """A zone that knows no offset (utcoffset() is None): left to the Python dumper."""

    def utcoffset(self, when: Any) -> None:
        return None

    def dst(self, when: Any) -> None:
        return None

    def tzname(self, when: Any) -> str:
        return "nowhere"


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 1, 1, tzinfo=NoOffset()),
        dt.time(1, 0, tzinfo=NEW_YORK),
        dt.time(1, 0, tzinfo=NoOffset()),
    ],
    ids=repr,
)
def test_zones_without_an_offset(pg_cluster, value: Any) -> None:
    got = _outcome(bp, pg_cluster.conninfo, value, "UTC")
    want = _outcome(psycopg, pg_cluster.conninfo, value, "UTC")
    assert got[0] == want[0]


def test_executemany_and_formats(pg_cluster) -> None:
    rows = [
        (
            dt.date(2020, 1, 1) + dt.timedelta(days=i),
            dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
        )
        for i in range(3000)
    ]
    with bp.connect(pg_cluster.conninfo) as conn:
        conn.execute("create temp table bd (d date, t timestamptz)")
        cur = conn.cursor()
        cur.executemany("insert into bd values (%s, %s)", rows)
        assert conn.execute("select d, t from bd order by d").fetchall() == rows
        cur.execute("select %s, %s", rows[0])
        assert list(cur._query.formats) == [bp.pq.Format.BINARY] * 2
