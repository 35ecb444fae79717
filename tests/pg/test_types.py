"""Type round trips, differential against psycopg (same server, same queries)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp
from balrog.psycopg.types.numeric import Float4, Int2, Int4, Int8

pytestmark = pytest.mark.both_modes

# SQL expressions whose results must load into the same Python values as psycopg's.
EXPRESSIONS = [
    "1::int2",
    "(-32768)::int2",
    "2147483647::int4",
    "(-9223372036854775808)::int8",
    "12::oid",
    "1.5::float4",
    "'NaN'::float8",
    "'-Infinity'::float8",
    "1e308::float8",
    "123.456::numeric",
    "'NaN'::numeric",
    "'Infinity'::numeric",
    "'-Infinity'::numeric",
    "(10::numeric ^ 200)::numeric(400, 100)",
    "0.000000000000000000001::numeric",
    "'hello'::text",
    "'ünïcødé ☃'::varchar(20)",
    "'pad'::char(6)",
    "'name'::name",
    "'x'::\"char\"",
    "''::text",
    "true",
    "false",
    "'\\x00ff10'::bytea",
    "''::bytea",
    "'2024-02-29'::date",
    "'0001-01-01'::date",
    "'9999-12-31'::date",
    "'13:14:15.123456'::time",
    "'00:00:00'::time",
    "'13:14:15+05:30'::timetz",
    "'13:14:15-08'::timetz",
    "'2024-01-02 03:04:05.678'::timestamp",
    "'2024-01-02 03:04:05.678+02'::timestamptz",
    "'1900-01-01 00:00:00+00'::timestamptz",
    "'1 year 2 mons 3 days 04:05:06.789'::interval",
    "'-1 day +02:00:00'::interval",
    "'-3 mons -00:00:01'::interval",
    "'00:00:00'::interval",
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
    '\'{"a": [1, 2.5, null, true], "b": "ü"}\'::json',
    '\'{"a": {"b": [1]}}\'::jsonb',
    "'\"str\"'::jsonb",
    "'192.168.0.1'::inet",
    "'192.168.0.1/24'::inet",
    "'::1'::inet",
    "'10.0.0.0/8'::cidr",
    "'2001:db8::/32'::cidr",
    "array[1, 2, null]::int4[]",
    "array[[1, 2], [3, 4]]::int8[]",
    "'{}'::int[]",
    "array['a', 'b c', '', null, 'NULL', 'q\"uo\\te', '{x}']::text[]",
    "array[1.5, null]::numeric[]",
    "array[true, false]",
    "array['2024-01-01'::date]",
    "array['2024-01-01 00:00:00+00'::timestamptz]",
    "array['{\"a\": 1}'::jsonb]",
    "array['1.2.3.4'::inet]",
    "array[gen_random_uuid()] is not null",
    "array['\\x01'::bytea]",
    "'[1,5)'::int4range",
    "'empty'::int4range",
    "'(,10]'::int8range",
    "'[1.5,2.5]'::numrange",
    "'[2024-01-01,2024-02-01)'::daterange",
    '\'["2024-01-01 00:00","2024-01-02 00:00")\'::tsrange',
    "'[\"2024-01-01 00:00+00\",)'::tstzrange",
    "'{[1,3), [5,7)}'::int4multirange",
    "'{}'::int4multirange",
    "'(1,2)'::point",
    "'12.34'::money",
    "'a b'::tsvector",
    "'<x/>'::xml",
    "null::int",
    "row(1, 'a')",
]


@pytest.fixture(scope="module")
def reference(pg_cluster):
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_loaded_values_match_psycopg(pg_cluster, reference, cursor_class):
    query = "select " + ", ".join(EXPRESSIONS)
    expected = getattr(psycopg, cursor_class)(reference).execute(query).fetchone()
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        got = getattr(bp, cursor_class)(conn).execute(query).fetchone()
    for expr, want, value in zip(EXPRESSIONS, expected, got, strict=True):
        if type(want).__module__.startswith("psycopg"):
            assert type(value).__name__ == type(want).__name__, expr
        else:
            assert type(value) is type(want), expr
        if isinstance(want, float) and want != want:
            assert value != value, expr
        elif isinstance(want, Decimal) and want.is_nan():
            assert value.is_nan(), expr
        elif type(want).__name__ in ("Range", "Multirange"):
            assert repr(value) == repr(want), expr
        else:
            assert value == want, expr
        if isinstance(want, dt.datetime | dt.time):
            assert repr(value.tzinfo) == repr(want.tzinfo), expr


PARAMS = [
    0,
    -1,
    2**40,
    2**70,
    1.25,
    float("inf"),
    Decimal("-1.5"),
    Decimal("NaN"),
    "text with 'quotes' and \\ backslash",
    "ünïcødé",
    "",
    b"\x00\x01\xff",
    True,
    None,
    dt.date(2020, 2, 29),
    dt.datetime(2020, 1, 2, 3, 4, 5, 6),
    dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=3))),
    dt.time(1, 2, 3, 4),
    dt.timedelta(days=-1, seconds=5, microseconds=7),
    dt.timedelta(days=400),
    uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ipaddress.ip_address("10.1.2.3"),
    ipaddress.ip_interface("10.1.2.3/16"),
    ipaddress.ip_network("10.0.0.0/8"),
    [1, 2, None],
    [[1, 2], [3, 4]],
    ["a", "b,c", None, ""],
    [],
]


def test_numeric_wrappers(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        for value, pgtype in (
            (Int2(5), "smallint"),
            (Int4(6), "integer"),
            (Int8(7), "bigint"),
            (Float4(0.5), "real"),
        ):
            assert conn.execute("select %s, pg_typeof(%s)::text", [value, value]).fetchone() == (
                value,
                pgtype,
            )
            assert bp.ClientCursor(conn).mogrify("%s", [value]) == repr(
                float(value) if isinstance(value, float) else int(value)
            )


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_param_round_trips(pg_cluster, reference, cursor_class):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        cur = getattr(bp, cursor_class)(conn)
        ref = getattr(psycopg, cursor_class)(reference)
        for value in PARAMS:
            if value == [] and cursor_class == "Cursor":
                continue
            query = "select %s, pg_typeof(%s)::text"
            try:
                want = ref.execute(query, (value, value)).fetchone()
            except psycopg.Error as ex:
                with pytest.raises(bp.Error) as got_ex:
                    cur.execute(query, (value, value))
                assert type(got_ex.value).__name__ == type(ex).__name__
                continue
            got = cur.execute(query, (value, value)).fetchone()
            assert repr(got) == repr(want), value


def test_mogrify_like_psycopg(pg_cluster, reference):
    from psycopg.types.json import Jsonb as RefJsonb

    from balrog.psycopg.types.json import Jsonb

    values = [p for p in PARAMS if p not in ([],)]
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        cur = bp.ClientCursor(conn)
        ref = psycopg.ClientCursor(reference)
        for value in values:
            assert cur.mogrify("%s", [value]) == ref.mogrify("%s", [value]), value
        assert cur.mogrify("%s", [Jsonb({"a": 1})]) == ref.mogrify("%s", [RefJsonb({"a": 1})])
        assert cur.mogrify("select %(a)s, %(a)s, %%", {"a": 1}) == "select 1, 1, %"


def test_nul_in_text_is_data_error(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        for cur in (conn.cursor(), bp.ClientCursor(conn)):
            with pytest.raises(bp.DataError, match="NUL"):
                cur.execute("select %s", ["a\x00b"])
        assert conn.execute("select 1").fetchone() == (1,)


def test_custom_loader_and_dumper(pg_cluster):
    from balrog.psycopg.adapt import Dumper, Loader
    from balrog.psycopg.types.datetime import TimestamptzLoader

    class UpperLoader(Loader):
        def load(self, data):
            return bytes(data).decode().upper()

    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    class PointDumper(Dumper):
        oid = 600

        def dump(self, obj):
            return f"({obj.x},{obj.y})".encode()

    class NaiveTzLoader(TimestamptzLoader):
        def load(self, data):
            return super().load(data).replace(tzinfo=None)

    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.adapters.register_loader("text", UpperLoader)
        conn.adapters.register_dumper(Point, PointDumper)
        cur = conn.cursor()
        cur.adapters.register_loader("timestamptz", NaiveTzLoader)
        row = cur.execute(
            "select 'abc'::text, %s::text, '2024-01-02 03:04:05+00'::timestamptz, array['x']::text[]",
            [Point(1, 2)],
        ).fetchone()
        assert row == ("ABC", "(1,2)", dt.datetime(2024, 1, 2, 3, 4, 5), ["X"])
        # The connection's other cursors keep the connection's loaders.
        assert conn.execute("select '2024-01-02 03:04:05+00'::timestamptz").fetchone()[0].tzinfo is not None
        assert conn.adapters.get_loader(25, bp.pq.Format.TEXT) is UpperLoader


def test_timezone_session(pg_cluster):
    with (
        bp.connect(pg_cluster.conninfo, autocommit=True) as conn,
        psycopg.connect(pg_cluster.conninfo, autocommit=True) as ref,
    ):
        for c in (conn, ref):
            c.execute("set timezone to 'America/New_York'")
        q = "select '2024-07-01 12:00:00+00'::timestamptz, '2024-01-01 12:00:00+00'::timestamptz"
        got, want = conn.execute(q).fetchone(), ref.execute(q).fetchone()
        assert got == want
        assert [v.utcoffset() for v in got] == [v.utcoffset() for v in want]
        assert conn.info.timezone == ref.info.timezone


def test_typeinfo_hstore_enum(pg_cluster):
    from balrog.psycopg.types import TypeInfo
    from balrog.psycopg.types.hstore import register_hstore

    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("create extension if not exists hstore")
        info = TypeInfo.fetch(conn, "hstore")
        assert info is not None and info.name == "hstore"
        register_hstore(info, conn)
        value = {"a": "1", "b": None, 'q"uo\\te': "x y"}
        assert conn.execute("select %s", [value]).fetchone() == (value,)
        assert conn.execute("select 'k=>v'::hstore, array['k=>v']::hstore[]").fetchone() == (
            {"k": "v"},
            [{"k": "v"}],
        )
        assert TypeInfo.fetch(conn, "no_such_type") is None
        conn.execute("drop type if exists mood; create type mood as enum ('sad', 'happy')")
        q = "select 'sad'::mood, array['happy']::mood[]"
        with psycopg.connect(pg_cluster.conninfo, autocommit=True) as ref:
            assert conn.execute(q).fetchone() == ref.execute(q).fetchone()


def _hstore_scopes(lib: Any, conninfo: str) -> list[Any]:
    types = __import__(f"{lib.__name__}.types", fromlist=["TypeInfo"])
    hstore = __import__(f"{lib.__name__}.types.hstore", fromlist=["register_hstore"])
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("create extension if not exists hstore")
        info = types.TypeInfo.fetch(conn, "hstore")
        cur = conn.cursor()
        hstore.register_hstore(info, cur)
        # Registered on the cursor only: the connection (and its other cursors) don't see it.
        seen.append((conn.adapters.types.get(info.oid) is None, cur.adapters.types[info.oid].name))
        seen.append(cur.execute("select null::hstore, ''::hstore, 'a=>b'::hstore").fetchone())
        seen.append(conn.execute("select 'a=>b'::hstore").fetchone())
        value = {"a": None, "b": "1" * 300, 'q"uo\\te': "x, y"}
        for placeholder in ("%s", "%t", "%b"):
            seen.append(cur.execute(f"select {placeholder}::hstore", [value]).fetchone())
        dumper = hstore._make_hstore_binary_dumper(info.oid)(dict)
        data = dumper.dump(value)
        seen.append(bytes(data))
        seen.append(hstore.HstoreBinaryLoader(0).load(data))
    return seen


def test_hstore_scopes_and_binary_like_psycopg(pg_cluster):
    assert _hstore_scopes(bp, pg_cluster.conninfo) == _hstore_scopes(psycopg, pg_cluster.conninfo)
