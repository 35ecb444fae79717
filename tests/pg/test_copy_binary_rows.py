"""Binary COPY TO rows (``copy.rows()`` / ``copy.read_row()``, parsed natively) against
psycopg's: many types through ``set_types`` (and bytes without it), NULLs, Python loaders,
rows of the wrong width, errors part way through, read-ahead across ``read()``, set_types
changed between rows, client encodings other than UTF-8.

Where rows come from a real COPY both libraries read the same server data; tuples the
server would never send (truncated, a bad header) are fed to each library's own row parser
through a Copy of a real COPY (psycopg's ``formatter.parse_row``, balrog's ``_parse_row``)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp
from support.pg_side_by_side import rows_until_error, same

pytestmark = pytest.mark.both_modes


def o(f: Callable[[], Any]) -> Any:
    try:
        return repr(f())
    except Exception as e:
        return ("EXC", type(e).__name__, str(e).splitlines()[0] if str(e) else "")


def binary(select: str) -> str:
    return f"copy ({select}) to stdout (format binary)"


def unicode_literal(text: str) -> str:
    """``text`` as an SQL literal of ASCII characters only (any client encoding can send it)."""
    return "U&'" + "".join(f"\\+{ord(c):06x}" for c in text) + "'"


def drain(cp: Any) -> None:
    """Read a COPY to its end: psycopg leaves one whose rows() raised in progress, and its
    connection's next command then fails."""
    while cp.read():
        pass


def type_name(cast: str) -> str:
    """The name set_types knows for a cast's type (without its modifier)."""
    return {"char": "bpchar"}.get(cast.split("(")[0], cast.split("(")[0])


# (type, literals cast to it): each type's COPY has one row per literal and a NULL row.
TYPED: list[tuple[str, list[str]]] = [
    ("int2", ["0", "-32768", "32767"]),
    ("int4", ["0", "-2147483648", "2147483647"]),
    ("int8", ["0", "-9223372036854775808", "9223372036854775807"]),
    ("oid", ["0", "4294967295"]),
    ("float4", ["1.5", "-0", "NaN", "Infinity", "-Infinity", "3.4e38", "1e-45"]),
    ("float8", ["0.1", "-0", "NaN", "Infinity", "-Infinity", "1.7976931348623157e308", "5e-324"]),
    (
        "numeric",
        [
            "0",
            "-1.50",
            "NaN",
            "Infinity",
            "-Infinity",
            "123456789012345678901234567890.123456789012345678901234567890",
            "1e-300",
            "-9e300",
            "0.000001000",
        ],
    ),
    ("numeric(10,4)", ["3.14159", "-0.00005"]),
    ("bool", ["true", "false"]),
    ("text", ["", "plain", "tab\there\nnew line\\", "é€😀"]),
    ("varchar(10)", ["short", "é"]),
    ("char(5)", ["ab", "é"]),
    ('"char"', ["a", ""]),
    ("name", ["a_name", "é"]),
    ("bytea", ["", "\\x00ff10", "\\x5c0a09"]),
    ("date", ["2024-02-29", "0001-01-01", "9999-12-31", "infinity", "-infinity", "4713-01-01 BC"]),
    ("time", ["00:00", "23:59:59.999999", "24:00"]),
    ("timetz", ["12:34:56.789+02", "00:00-14:59", "23:59:59+14:59"]),
    ("timestamp", ["2024-01-02 03:04:05.123456", "0001-01-01", "infinity", "-infinity"]),
    ("timestamptz", ["2024-01-02 03:04:05.123456+00", "1999-12-31 23:59:59-08", "infinity", "-infinity"]),
    ("interval", ["0", "1 year 2 mons 3 days 04:05:06.789", "-1 day -00:00:01", "1000000 years"]),
    ("uuid", ["00000000-0000-0000-0000-000000000000", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]),
    ("json", ['{"a": [1, 2.5, null, "é"]}', '"str"', "null"]),
    ("jsonb", ['{"b": {"c": true}, "a": 1e3}', "[]", "null", '"é😀"']),
    ("int4[]", ["{}", "{1,NULL,3}", "{{1,2},{3,4}}", "[0:1]={5,6}", "{{{1}},{{NULL}}}"]),
    ("text[]", ['{"a b","c,d","\\"q\\"",NULL,"NULL"}', "{é,😀}", '{{"",x},{y,z}}']),
    ("float8[]", ["{NaN,Infinity,-0,1.5}"]),
    ("numeric[]", ["{1.5,NaN,NULL}"]),
    ("bool[]", ["{t,f,NULL}"]),
    ("date[]", ["{2024-01-01,2024-12-31}", "{2024-01-01,infinity}"]),
    ("timestamptz[]", ['{"2024-01-01 00:00+00",NULL}']),
    ("uuid[]", ["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"]),
    ("jsonb[]", ['{"{\\"a\\": 1}",NULL}']),
    ("bytea[]", ['{"\\\\x00ff",NULL}']),
    # Addresses from the documentation ranges: values stored and read back, no traffic.
    ("inet", ["127.0.0.1", "198.51.100.7/8", "::1", "2001:db8::1/64"]),
    ("cidr", ["198.51.100.0/24", "2001:db8::/32", "203.0.113.1/32"]),
    ("inet[]", ["{127.0.0.1,NULL,::1/128}"]),
    ("int4range", ["empty", "[1,5)", "(,3]", "[2,)", "(,)"]),
    ("int8range", ["[1,9223372036854775806]"]),
    ("numrange", ["[1.5,2.5]", "(,10.25)"]),
    ("daterange", ["[2024-01-01,2024-02-01)", "[2024-01-01,infinity)"]),
    ("tsrange", ['["2024-01-01 00:00","2024-01-02 00:00")']),
    ("tstzrange", ['["2024-01-01 00:00+00",)', "empty"]),
    ("int4range[]", ['{"[1,2)",empty,NULL}']),
    ("int4multirange", ["{}", "{[1,3),[5,7)}"]),
]


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Kolkata"])
@pytest.mark.parametrize("how", ["rows", "read_row"])
def test_typed_columns_like_psycopg(pg_cluster: Any, timezone: str, how: str) -> None:
    def run(lib: Any, conn: Any) -> Any:
        conn.execute(f"set timezone to '{timezone}'")
        out = []
        for typ, literals in TYPED:
            values = ", ".join(f"({psycopg.sql.quote(v)})" for v in literals) + ", (NULL)"
            stmt = binary(f"select v::{typ}, v::{typ} is null from (values {values}) t(v)")

            def read(stmt: str = stmt, typ: str = typ) -> Any:
                with conn.cursor().copy(stmt) as cp:
                    cp.set_types([type_name(typ), "bool"])
                    if how == "rows":
                        return list(cp.rows())
                    got = []
                    # One value at a time: a value psycopg cannot load (a date out of
                    # Python's range) fails its own row only.
                    while True:
                        row = o(cp.read_row)
                        got.append(row)
                        if row == "None":
                            return got

            out.append((typ, o(read)))
        return out

    out = same(run, pg_cluster.conninfo)
    assert len(out) == len(TYPED)


@pytest.mark.parametrize("typed", [False, True])
def test_wide_row_and_null_rows_like_psycopg(pg_cluster: Any, typed: bool) -> None:
    # All the columns in one row (values every Python type holds); every third row all
    # NULL. Without set_types each field is the bytes the server sent (psycopg's loaders
    # for oid 0).
    cols = [(typ, literals[0]) for typ, literals in TYPED]
    select = ", ".join(
        f"case when g % 3 = 0 then null else {psycopg.sql.quote(lit)}::{typ} end" for typ, lit in cols
    )
    stmt = binary(f"select {select} from generate_series(1, 7) g")

    def run(lib: Any, conn: Any) -> Any:
        conn.execute("set timezone to 'UTC'")
        with conn.cursor().copy(stmt) as cp:
            if typed:
                cp.set_types([type_name(typ) for typ, _ in cols])
            return o(lambda: list(cp.rows())), o(cp.read_row), o(cp.read_row)

    same(run, pg_cluster.conninfo)


@pytest.mark.parametrize(
    "stmt, types",
    [
        ("select 1 where false", ["int4"]),  # header and trailer in one message
        ("select", []),  # rows of no columns
        ("select from generate_series(1, 3)", []),
        ("select null::int4, null::text from generate_series(1, 3)", ["int4", "text"]),
    ],
)
@pytest.mark.parametrize("typed", [False, True])
def test_other_shapes_like_psycopg(pg_cluster: Any, stmt: str, types: list[str], typed: bool) -> None:
    def run(lib: Any, conn: Any) -> Any:
        cur = conn.cursor()
        with cur.copy(binary(stmt)) as cp:
            if typed:
                cp.set_types(types)
            out = [o(lambda: list(cp.rows())), o(cp.read_row), o(cp.read_row)]
        return out, cur.rowcount

    same(run, pg_cluster.conninfo)


def test_python_loaders_like_psycopg(pg_cluster: Any) -> None:
    # A binary loader the application registered gets the field's bytes; the builtin
    # columns beside it stay native. One that raises fails its row.
    def run(lib: Any, conn: Any) -> Any:
        seen: list[bytes] = []

        class Recording(lib.adapt.Loader):  # type: ignore[name-defined]
            format = lib.pq.Format.BINARY

            def load(self, data: Any) -> Any:
                seen.append(bytes(data))
                return ("loaded", struct.unpack("!i", bytes(data))[0])

        class Failing(lib.adapt.Loader):  # type: ignore[name-defined]
            format = lib.pq.Format.BINARY

            def load(self, data: Any) -> Any:
                raise ValueError(f"no thanks: {bytes(data)!r}")

        cur = conn.cursor()
        cur.adapters.register_loader("int4", Recording)
        stmt = binary("select g, 'v' || g, null::int4, array[g, null] from generate_series(1, 3) g")

        def rows(types: list[str] | None) -> list[Any]:
            with cur.copy(stmt) as cp:
                if types:
                    cp.set_types(types)
                return list(cp.rows())

        out = [o(lambda: rows(None)), o(lambda: rows(["int4", "text", "int4", "int4[]"])), list(seen)]
        cur.adapters.register_loader("text", Failing)
        out += [o(lambda: rows(["int4", "text", "int4", "int4[]"])), conn.info.transaction_status.name]
        return out

    same(run, pg_cluster.conninfo)


@pytest.mark.parametrize("types", [["int4"], ["int4", "text", "int4"], []])
def test_wrong_set_types_width_like_psycopg(pg_cluster: Any, types: list[str]) -> None:
    # Every row fails on its own (psycopg's ProgrammingError), then the trailer ends them.
    stmt = binary("select g, 'x' from generate_series(1, 3) g")

    def run(lib: Any, conn: Any) -> Any:
        with conn.cursor().copy(stmt) as cp:
            cp.set_types(types)
            return [o(cp.read_row) for _ in range(6)]

    out = same(run, pg_cluster.conninfo)
    assert out[0][1] == "ProgrammingError"


@pytest.mark.parametrize("how", ["rows", "read_row"])
def test_error_after_many_rows_like_psycopg(pg_cluster: Any, how: str) -> None:
    # The server sends rows, then an error: the rows before it are all returned first.
    stmt = binary("select g, 100 / (2500 - g), g::text from generate_series(1, 3000) g")

    def run(lib: Any, conn: Any) -> Any:
        with conn.cursor().copy(stmt) as cp:
            cp.set_types(["int4", "int4", "text"])
            got, error = rows_until_error(cp, how)
        return len(got), got[-1] if got else None, error, conn.info.transaction_status.name

    count, _, error, _ = same(run, pg_cluster.conninfo)
    assert count == 2499 and error is not None


def test_mixed_reads_across_batches_like_psycopg(pg_cluster: Any) -> None:
    # More rows than one read-ahead batch; read(), read_row() and rows() taking turns must
    # see every row once, in order, set_types changing the next rows' types.
    stmt = binary("select g, 'x' || g, g * 0.5 from generate_series(1, 5000) g")

    def run(lib: Any, conn: Any) -> Any:
        cur = conn.cursor()
        out: list[Any] = []
        with cur.copy(stmt) as cp:
            out.append(cp.read_row())  # bytes: no set_types yet
            cp.set_types(["int4", "text", "numeric"])
            out.append(cp.read_row())
            out.append(bytes(cp.read()))
            rows = cp.rows()
            out.extend(next(rows) for _ in range(1500))
            out.append(bytes(cp.read()))
            out.append(cp.read_row())
            cp.set_types(["bytea", "bytea", "bytea"])
            out.extend(next(rows) for _ in range(10))
            cp.set_types(["int4", "name", "numeric"])
            for row in cp.rows():
                out.append(row)
                if len(out) == 2000:
                    # Twice before the next row: the last one counts.
                    cp.set_types(["int4", "text", "numeric"])
                    cp.set_types(["int4", "bytea", "numeric"])
            out.append(bytes(cp.read()))
            out.append(cp.read_row())
            out.append(cp.read_row())
        out.append(cur.rowcount)
        return out

    out = same(run, pg_cluster.conninfo)
    assert out[-1] == 5000 and out[-4:-1] == [b"", None, None]


@pytest.mark.parametrize("first", ["read", "iter"])
def test_read_before_the_first_row_like_psycopg(pg_cluster: Any, first: str) -> None:
    # read() took the message with the header: psycopg then refuses the next rows (it looks
    # for the header in the first message it parses).
    stmt = binary("select g from generate_series(1, 3) g")

    def run(lib: Any, conn: Any) -> Any:
        with conn.cursor().copy(stmt) as cp:
            if first == "read":
                head = bytes(cp.read())
            else:
                head = bytes(next(iter(cp)))
            cp.set_types(["int4"])
            return head, [o(cp.read_row) for _ in range(4)]

    same(run, pg_cluster.conninfo)


# Messages the server never sends, fed one after another to each library's parser (the
# first one parsed is where the header is looked for). Hand-made, so they are named.
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8


def _tuple(*fields: bytes | None) -> bytes:
    out = struct.pack("!h", len(fields))
    for f in fields:
        out += b"\xff\xff\xff\xff" if f is None else struct.pack("!i", len(f)) + f
    return out


GOOD = _tuple(b"\x00\x00\x00\x07", b"ab")
SYNTHETIC: dict[str, list[bytes]] = {
    "good": [HEADER + GOOD, GOOD, _tuple(None, None), b"\xff\xff"],
    "bad signature": [b"PGCOPY\n\xff\r\n\x01" + b"\x00" * 8 + GOOD, GOOD],
    "flags set": [HEADER[:11] + b"\x00\x01\x00\x00" + HEADER[15:] + GOOD],
    "header extension": [HEADER[:15] + b"\x00\x00\x00\x02xy" + GOOD],
    "short header": [HEADER[:10], HEADER + GOOD],
    "header again": [HEADER + GOOD, HEADER + GOOD],
    "header and trailer": [HEADER + b"\xff\xff", GOOD],
    "truncated count": [HEADER + b"\x00", b"", b"\x00", GOOD],
    "truncated length": [HEADER + GOOD, b"\x00\x02\x00\x00\x00\x04\x00\x00\x00\x07\x00\x00"],
    "length exceeding": [HEADER + GOOD, b"\x00\x02\x00\x00\x00\x04\x00\x00\x00\x07\x00\x00\x00\x09ab"],
    "negative length": [HEADER + GOOD, b"\x00\x02\xff\xff\xff\xfe\x00\x00\x00\x00"],
    "huge count": [HEADER + b"\xff\xfe" + GOOD[2:], b"\x80\x00"],
    "trailer with more": [HEADER + GOOD, b"\xff\xff\x00"],
    "bytes after the fields": [HEADER + GOOD + b"junk", GOOD + b"\x00"],
    "narrow": [HEADER + _tuple(b"\x00\x00\x00\x01"), _tuple()],
    "wide": [HEADER + _tuple(b"\x00\x00\x00\x01", b"a", b"b"), GOOD],
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
@pytest.mark.parametrize("typed", [False, True])
def test_synthetic_tuples_like_psycopg(pg_cluster: Any, name: str, typed: bool) -> None:
    def run(lib: Any, conn: Any) -> Any:
        out = []
        with conn.cursor().copy(binary("select 1::int4, 'x'::text")) as cp:
            if typed:
                cp.set_types(["int4", "text"])
            parse = cp.formatter.parse_row if lib is psycopg else cp._parse_row
            for data in SYNTHETIC[name]:
                out.append(o(lambda data=data: parse(data)))
            out.append(o(cp.read_row))  # the real row, after the hand-made ones
            drain(cp)
        return out

    same(run, pg_cluster.conninfo)


@pytest.mark.parametrize("encoding", ["LATIN1", "WIN1251", "EUC_JP", "SQL_ASCII"])
def test_client_encodings_like_psycopg(pg_cluster: Any, encoding: str) -> None:
    # Text inside binary values arrives in the client encoding: text, names, bpchar, arrays
    # of them. (Not json: psycopg's binary json loaders read UTF-8 whatever the encoding,
    # and fail; see test_json_in_client_encodings.)
    texts = {"LATIN1": "é ü ß", "WIN1251": "жук ё", "EUC_JP": "日本語 ｶﾅ", "SQL_ASCII": "é€😀"}[encoding]
    types = ["text", "varchar", "bpchar", "name", "text[]", "int4", "bytea"]
    select = (
        "select t, t::varchar, t::char(12), t::name, array[t, null, t || '\",'], 1, "
        f"convert_to(t, 'UTF8') from (values ({unicode_literal(texts)}), ('plain'), (null)) v(t)"
    )

    def run(lib: Any, conn: Any) -> Any:
        conn.execute(f"set client_encoding to '{encoding}'")
        out = []
        for set_types in (None, types):
            with conn.cursor().copy(binary(select)) as cp:
                if set_types:
                    cp.set_types(set_types)
                out.append(o(lambda cp=cp: list(cp.rows())))
                drain(cp)
        return out

    same(run, pg_cluster.conninfo)


def test_leaving_rows_unread(pg_cluster: Any) -> None:
    # Rows read ahead and never asked for are read to the end of the COPY when its block
    # ends, and the connection is ready for the next query (balrog's own behaviour: see
    # test_copy_text_rows).
    stmt = binary("select g from generate_series(1, 3000) g")
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        cur = conn.cursor()
        with cur.copy(stmt) as cp:
            cp.set_types(["int4"])
            assert cp.read_row() == (1,)
        assert (cur.rowcount, conn.info.transaction_status.name) == (3000, "IDLE")
        assert conn.execute("select 42").fetchone() == (42,)


@pytest.mark.parametrize("encoding", ["LATIN1", "EUC_JP"])
def test_json_in_client_encodings(pg_cluster: Any, encoding: str) -> None:
    # json and jsonb values hold text in the client encoding too: balrog converts it, as the
    # wire layer does for query results (psycopg's binary loaders fail with a
    # UnicodeDecodeError there).
    text = {"LATIN1": "é ü ß", "EUC_JP": "日本語 ｶﾅ"}[encoding]
    lit = unicode_literal(text)
    stmt = binary(
        f"select to_json({lit}::text), jsonb_build_object({lit}::text, 1), array[to_jsonb({lit}::text)]"
    )
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute(f"set client_encoding to '{encoding}'")
        with conn.cursor().copy(stmt) as cp:
            cp.set_types(["json", "jsonb", "jsonb[]"])
            assert list(cp.rows()) == [(text, {text: 1}, [text])]
