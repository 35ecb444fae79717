"""Binary results (``binary=True``, ``cursor(binary=True)``): rows come in PostgreSQL's binary
format and go through the binary loaders, side by side with psycopg.

Every scenario runs through psycopg and balrog.psycopg against the same server; values,
``pgresult.fformat``, loader classes and error messages must be the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes

QUERIES = [
    "select 1::int2, -2::int4, 3::int8, 4::oid, 4294967295::oid, 1.5::float4, 0.1::float4,"
    " 2.5::float8, 'NaN'::float8, '-Infinity'::float4",
    "select 12345.678::numeric, 0.0001::numeric, -0.00000001::numeric, 10000::numeric,"
    " 'NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric, 0::numeric(10,2),"
    " 123456789012345678901234567890.123456789::numeric, 1e-300::numeric, -1e300::numeric",
    "select true, false, 'abc'::text, 'x'::varchar, 'y'::char(3), 'n'::name, 'q'::\"char\","
    " '\\x00ff'::bytea, ''::bytea, 'ünï ☃'::text",
    "select '2024-02-29'::date, '0001-01-01'::date, '9999-12-31'::date, '1999-12-31'::date,"
    " '12:34:56.789'::time, '23:59:59.999999'::time, '00:00'::time, '12:00+05:30'::timetz,"
    " '12:00-08'::timetz",
    "select '2024-02-29 12:34:56.5'::timestamp, '0001-01-01'::timestamp,"
    " '9999-12-31 23:59:59.999999'::timestamp, '1960-06-01 01:02:03'::timestamp,"
    " '2024-01-01 00:00+02'::timestamptz, '0001-01-01 00:00+00'::timestamptz,"
    " '9999-12-31 20:00+00'::timestamptz",
    "select '1 year 2 mons 3 days 04:05:06.7'::interval, '-1 day -00:00:01'::interval,"
    " '-13 mons'::interval, '0'::interval, '1000000 days 23:59:59.999999'::interval",
    "select 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '1.2.3.4'::inet, '1.2.3.4/24'::inet,"
    " '::1'::inet, '2001:db8::1/64'::inet, '2001:db8::/32'::cidr, '11.0.0.0/8'::cidr,"
    " '::ffff:1.2.3.4'::inet",
    'select \'{"a": [1, 2.5, null, "x"], "b": {"c": true}}\'::json,'
    " '{\"a\": [1, 2.5, null, \"x\"]}'::jsonb, '[]'::jsonb, '\"s\"'::jsonb, 'null'::json",
    "select array[1,2,null]::int4[], array[[1,2],[3,4]]::int8[], '{}'::int4[],"
    " array['a','b\"c',null,'']::text[], array[1.5]::numeric[], array['2024-01-01'::date],"
    " array['{\"a\":1}'::jsonb], array[4::oid], '[0:1]={7,8}'::int2[],"
    " array[[[true]],[[false]]], array['1.2.3.4'::inet], array[1.5::float4]",
    "select int4range(1,5), '[1,5]'::int8range, 'empty'::int4range, '(,3)'::numrange,"
    " tsrange('2024-01-01','2024-02-01'), daterange(null,null), array[int4range(1,2)],"
    " tstzrange('2024-01-01 00:00+00', null, '[]')",
    "select '{[1,3),[5,7)}'::int4multirange, '{}'::datemultirange, '{(,)}'::nummultirange",
    "select 'foo'::xml, row(1,'a'), point(1,2), row(1, 'x'::text, null::int, 2.5::float8),"
    " row(), 'a'::unknown, 42::money",
    "select null::int4, null::text, null::jsonb, array[null]::int4[]",
]

ERRORS = [
    "select 'infinity'::date",
    "select '-infinity'::date",
    "select 'infinity'::timestamp",
    "select '-infinity'::timestamp",
    "select 'infinity'::timestamptz",
    "select '-infinity'::timestamptz",
    "select '24:00'::time",
    "select '24:00+01'::timetz",
]


def observe(f: Callable[[], Any]) -> Any:
    try:
        return ("ok", f())
    except Exception as ex:
        return ("error", type(ex).__name__, str(ex))


def rows_and_formats(conn: Any, query: str) -> Any:
    cur = conn.execute(query, binary=True)
    res = cur.pgresult
    return cur.fetchall(), [res.fformat(i) for i in range(res.nfields)]


@pytest.fixture(scope="module")
def dsn(pg_cluster: Any) -> str:
    return pg_cluster.conninfo  # type: ignore[no-any-return]


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Rome", "America/Chicago"])
@pytest.mark.parametrize("query", QUERIES + ERRORS)
def test_values_as_psycopg(dsn: str, query: str, timezone: str) -> None:
    outcomes = []
    for lib in (psycopg, bp):
        with lib.connect(dsn, autocommit=True) as conn:  # type: ignore[attr-defined]
            conn.execute(f"set timezone to '{timezone}'")
            outcomes.append(repr(observe(lambda conn=conn: rows_and_formats(conn, query))))
    assert outcomes[1] == outcomes[0]


def test_interval_past_timedelta_is_data_error(dsn: str) -> None:
    # psycopg's C loader wraps the day count around here; its Python loader (and balrog)
    # raise DataError.
    with bp.connect(dsn) as conn:
        with pytest.raises(bp.DataError, match="can't parse interval"):
            conn.execute("select '178000000 years'::interval", binary=True).fetchone()


def cursor_paths(lib: Any, dsn: str) -> list[Any]:
    """Every way a cursor asks for rows, with binary results."""
    out: list[Any] = []
    with lib.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor(binary=True)
        out.append(observe(lambda: cur.execute("select %s::int, %s::text", [1, "a"]).fetchall()))
        out.append([cur.pgresult.fformat(i) for i in range(2)])
        # binary=False overrides the cursor's format; a text cursor asked for binary.
        out.append(cur.execute("select 1", binary=False).pgresult.fformat(0))
        out.append(conn.execute("select 2::int8").pgresult.fformat(0))
        out.append(conn.execute("select 2::int8", binary=True).pgresult.fformat(0))
        # Prepared statements keep the format asked for at each execute.
        for binary in (True, True, False, True):
            res = conn.execute("select %s::int2 + 1", [1], prepare=True, binary=binary)
            out.append((res.fetchone(), res.pgresult.fformat(0)))
        out.append(list(conn.cursor().stream("select generate_series(1,3)::int8, 'x'", binary=True)))
        out.append(list(conn.cursor(binary=True).stream("select 1.5::numeric")))
        many = conn.cursor(binary=True)
        many.executemany("select %s::int4 * 2, %s::text", [(1, "a"), (2, "b")], returning=True)
        results = []
        while True:
            results.append((many.fetchall(), many.pgresult.fformat(0)))
            if not many.nextset():
                break
        out.append(results)
        with conn.pipeline():
            c1 = conn.cursor().execute("select 1::int2, 'x'", binary=True)
            c2 = conn.cursor(binary=True).execute("select 2.5::float4")
            c3 = conn.cursor().execute("select 3::int8")
        out.append((c1.fetchall(), c1.pgresult.fformat(0), c2.fetchall(), c3.pgresult.fformat(0)))
        with conn.transaction():
            named = conn.cursor("binary_named", binary=True)
            named.execute("select generate_series(1,5)::int8, '2024-01-01'::date")
            out.append((named.fetchone(), named.fetchmany(2), named.fetchall(), named.pgresult.fformat(0)))
            named.close()
            named = conn.cursor("text_named", binary=True)
            named.execute("select 1::int8", binary=False)
            out.append((named.fetchall(), named.pgresult.fformat(0)))
            named.close()
        # Client-side cursors can't: NotSupportedError, as psycopg.
        client = lib.ClientCursor(conn)
        out.append(observe(lambda: client.execute("select 1", binary=True)))
    return out


def test_cursor_paths_as_psycopg(dsn: str) -> None:
    assert repr(cursor_paths(bp, dsn)) == repr(cursor_paths(psycopg, dsn))


SCHEMA = """
drop type if exists bin_card, bin_mood cascade;
create type bin_card as (value int, suit text, tags numeric[]);
create type bin_mood as enum ('sad', 'ok');
create extension if not exists hstore;
"""


def registered_types(lib: Any, dsn: str) -> list[Any]:
    import importlib

    composite = importlib.import_module(f"{lib.__name__}.types.composite")
    enum = importlib.import_module(f"{lib.__name__}.types.enum")
    hstore = importlib.import_module(f"{lib.__name__}.types.hstore")
    query = (
        "select (1,'x',array[1.5])::bin_card, 'sad'::bin_mood, 'a=>1,b=>NULL'::hstore,"
        " array['ok'::bin_mood], array[(2,null,null)::bin_card], null::bin_card"
    )
    out: list[Any] = []
    with lib.connect(dsn, autocommit=True) as conn:
        out.append(observe(lambda: conn.execute(query, binary=True).fetchall()))
        composite.register_composite(composite.CompositeInfo.fetch(conn, "bin_card"), conn)
        enum.register_enum(enum.EnumInfo.fetch(conn, "bin_mood"), conn)
        hstore.register_hstore(lib.types.TypeInfo.fetch(conn, "hstore"), conn)
        out.append(observe(lambda: conn.execute(query, binary=True).fetchall()))
        out.append(observe(lambda: conn.execute(query).fetchall()))
    return out


def test_registered_types_as_psycopg(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    assert repr(registered_types(bp, dsn)) == repr(registered_types(psycopg, dsn))


def loaders(lib: Any, dsn: str) -> list[Any]:
    """The binary loader classes psycopg users look up, their direct ``load()``, and a
    user's binary loader."""
    out: list[Any] = []
    binary = lib.pq.Format.BINARY
    with lib.connect(dsn, autocommit=True) as conn:
        conn.execute("set timezone to 'Asia/Tokyo'")
        tx = lib.adapt.Transformer(conn)
        oids = (16, 17, 20, 21, 23, 25, 26, 114, 700, 701, 1007, 1082, 1114, 1184, 1186, 1700, 2950, 3802)
        for oid in oids:
            out.append((oid, type(tx.get_loader(oid, binary)).__name__))
        out.append(tx.get_loader(1184, binary).load(b"\x00" * 8))
        out.append(tx.get_loader(1700, binary).load(b"\x00\x01\x00\x00\x00\x00\x00\x02\x00\x07"))
        array = conn.execute("select array[1,2]", binary=True).pgresult.get_value(0, 0)
        out.append(tx.get_loader(1007, binary).load(array))
        out.append(tx.get_loader(999999, binary).load(b"raw"))

        class TaggedInt(lib.adapt.Loader):  # type: ignore[name-defined, misc]
            format = binary

            def load(self, data: Any) -> Any:
                return ("mine", bytes(data))

        cur = conn.cursor()
        cur.adapters.register_loader("int4", TaggedInt)
        out.append(cur.execute("select 7::int4, array[8::int4]", binary=True).fetchall())
        out.append(cur.execute("select 7::int4", binary=False).fetchall())
    return out


def test_loaders_as_psycopg(dsn: str) -> None:
    assert repr(loaders(bp, dsn)) == repr(loaders(psycopg, dsn))


@pytest.mark.parametrize("encoding", ["LATIN1", "SQL_ASCII", "EUC_JP"])
def test_client_encodings_as_psycopg(dsn: str, encoding: str) -> None:
    # Text inside binary values (arrays, records) is converted where the type says it is.
    query = "select %s::text, array[%s::varchar], row(%s::text, 1), row(array[%s::name])"
    text = {"LATIN1": "café", "SQL_ASCII": "plain", "EUC_JP": "日本語"}[encoding]
    outcomes = []
    for lib in (psycopg, bp):
        with lib.connect(dsn, autocommit=True, client_encoding=encoding) as conn:  # type: ignore[attr-defined]
            run = lambda conn=conn: conn.execute(query, [text] * 4, binary=True).fetchall()  # noqa: E731
            outcomes.append(repr(observe(run)))
    assert outcomes[1] == outcomes[0]


def test_binary_json_in_another_encoding(dsn: str) -> None:
    # psycopg hands JSON in the client encoding to json.loads, which reads UTF-8 only (a
    # UnicodeDecodeError here); balrog's JSON was converted on the wire.
    with bp.connect(dsn, client_encoding="LATIN1") as conn:
        row = conn.execute(
            "select %s::json, %s::jsonb, array[%s::jsonb]", ['"café"'] * 3, binary=True
        ).fetchone()
    assert row == ("café", "café", ["café"])


def user_types_in_latin1(lib: Any, dsn: str) -> list[Any]:
    import importlib

    composite = importlib.import_module(f"{lib.__name__}.types.composite")
    enum = importlib.import_module(f"{lib.__name__}.types.enum")
    out: list[Any] = []
    with lib.connect(dsn, autocommit=True, client_encoding="LATIN1") as conn:
        composite.register_composite(composite.CompositeInfo.fetch(conn, "bin_latin_card"), conn)
        enum.register_enum(enum.EnumInfo.fetch(conn, "bin_latin_mood"), conn)
        query = (
            "select ('café', 'triste'::bin_latin_mood)::bin_latin_card, 'triste'::bin_latin_mood,"
            " array['été'::bin_latin_mood], row(('à', null)::bin_latin_card, 'ü'::text)"
        )
        for binary in (True, False):
            out.append(observe(lambda binary=binary: conn.execute(query, binary=binary).fetchall()))
    return out


def test_user_types_in_another_encoding_as_psycopg(dsn: str) -> None:
    # Enum labels and composite fields in binary arrive in the client encoding: their
    # loaders convert them (the wire layer only knows the builtin types). (hstore's loader
    # decodes its strings with the client encoding too, as psycopg's; the server's binary
    # hstore counts non-ASCII strings wrong in such sessions, so it is not compared here.)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "drop type if exists bin_latin_card, bin_latin_mood cascade;"
            " create type bin_latin_mood as enum ('triste', 'été');"
            " create type bin_latin_card as (name text, mood bin_latin_mood)"
        )
    ours, theirs = user_types_in_latin1(bp, dsn), user_types_in_latin1(psycopg, dsn)
    assert repr(ours) == repr(theirs)
