"""COPY step by step through psycopg and balrog: text and binary, in and out, set_types
(arrays included), raw reads and writes, errors and aborts."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def o(f: Any) -> Any:
    try:
        return repr(f())
    except Exception as e:
        return ("EXC", type(e).__name__, str(e))


def _session(lib: Any, conninfo: str) -> list[Any]:
    out = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("create temporary table t (id int, name text, d date, n numeric, j jsonb, a int[])")
        cur = conn.cursor()

        def w1():
            with cur.copy("copy t from stdin") as cp:
                cp.write_row((1, "a\tb\nc\\d", dt.date(2020, 1, 2), Decimal("1.5"), None, [1, None]))
                cp.write_row((2, None, None, None, None, None))
                cp.write("3\tx\t\\N\t\\N\t\\N\t\\N\n")
                cp.write(b"4\ty\t\\N\t\\N\t\\N\t{1,2}\n")
            return cur.rowcount

        out.append(o(w1))

        def r1():
            with cur.copy("copy (select * from t order by id) to stdout") as cp:
                cp.set_types(["int4", "text", "date", "numeric", "jsonb", "int4[]"])
                return list(cp.rows())

        out.append(o(r1))

        def r2():
            with cur.copy("copy (select * from t order by id) to stdout") as cp:
                return list(cp.rows())

        out.append(o(r2))

        def r3():
            with cur.copy("copy (select id, name from t order by id) to stdout") as cp:
                return [bytes(b) for b in cp]

        out.append(o(r3))

        def r4():
            with cur.copy("copy (select * from t order by id) to stdout (format binary)") as cp:
                cp.set_types(["int4", "text", "date", "numeric", "jsonb", "int4[]"])
                return [cp.read_row(), cp.read_row(), cp.read_row(), cp.read_row(), cp.read_row()]

        out.append(o(r4))

        def w2():
            with cur.copy("copy t (id, name) from stdin (format binary)") as cp:
                cp.set_types(["int4", "text"])
                cp.write_row((10, "bin"))
                cp.write_row((11, None))
            return cur.rowcount, conn.execute("select id, name from t where id >= 10 order by id").fetchall()

        out.append(o(w2))

        def w3():
            with cur.copy("copy t (id) from stdin") as cp:
                cp.write_row(("notanint",))

        out.append(o(w3))
        out.append(conn.info.transaction_status.name)

        def w4():
            with cur.copy("copy t (id) from stdin") as cp:
                cp.write_row((20,))
                raise ValueError("user abort")

        out.append(o(w4))
        out.append(o(lambda: conn.execute("select count(*) from t where id = 20").fetchone()))

        def w5():
            with cur.copy(f"copy t (id, name) from stdin where id > {0}") as cp:
                cp.write_row((30, "w"))
            return cur.rowcount

        out.append(o(w5))
        out.append(o(lambda: cur.copy("select 1").__enter__()))

        def w6():
            with cur.copy(lib.sql.SQL("copy t ({}) from stdin").format(lib.sql.Identifier("id"))) as cp:
                cp.write_row((40,))
            return cur.statusmessage, cur.rowcount

        out.append(o(w6))

        def r5():
            with cur.copy("copy (select %s::int, %s) to stdout", [5, "p"]) as cp:
                return list(cp.rows())

        out.append(o(r5))

        def r6():
            with cur.copy("copy (select generate_series(1,3)) to stdout") as cp:
                data = []
                while chunk := cp.read():
                    data.append(bytes(chunk))
                return data

        out.append(o(r6))
    return out


def test_copy_session_like_psycopg(pg_cluster):
    got, want = _session(bp, pg_cluster.conninfo), _session(psycopg, pg_cluster.conninfo)
    for step, (value, expected) in enumerate(zip(got, want, strict=True)):
        assert value == expected, step


def _copy_misuse(lib: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo) as conn:
        cur = conn.cursor()
        for fmt in ("text", "binary"):
            for n in (2, 4):
                with cur.copy(f"copy (select 1, 2, 3) to stdout (format {fmt})") as copy:
                    copy.set_types(["int4"] * n)
                    try:
                        seen.append(copy.read_row())
                    except lib.Error as exc:
                        seen.append((type(exc).__name__, str(exc)))
                    list(copy)
        with cur.copy("copy (select 1) to stdout") as copy:
            seen.append(repr(copy).split(" at 0x")[0])
            list(copy)
        seen.append(repr(copy).split(" at 0x")[0])
        try:
            with copy:
                pass
        except TypeError as exc:
            seen.append(("TypeError", str(exc)))
        conn.execute("create temp table misuse_t (a text)")
        try:
            with cur.copy("copy misuse_t from stdin (format binary)") as copy:
                copy.write("text")
        except TypeError as exc:
            seen.append(("TypeError", str(exc), conn.info.transaction_status.name))
    return seen


def test_copy_misuse_like_psycopg(pg_cluster):
    assert _copy_misuse(bp, pg_cluster.conninfo) == _copy_misuse(psycopg, pg_cluster.conninfo)


def _user_dumpers_in_copy(lib: Any, conninfo: str, fmt: str) -> list[Any]:
    string = __import__(f"{lib.__name__}.types.string", fromlist=["StrDumper"])
    base = string.StrDumper if fmt == "text" else string.StrBinaryDumper

    class Doubling(base):  # type: ignore[misc, valid-type]
        def dump(self, obj: Any) -> Any:
            return bytes(super().dump(obj)) * 2 if obj else None  # "" becomes NULL

    with lib.connect(conninfo) as conn:
        conn.adapters.register_dumper(str, Doubling)
        conn.execute("create temp table ud (n int2, s text, f float8)")  # small ints go as int2
        cur = conn.cursor()
        with cur.copy(f"copy ud from stdin (format {fmt})") as copy:
            copy.write_row((1, "ab", 1.5))
            copy.write_row((2, "", -0.0))
        return cur.execute("select * from ud order by n").fetchall()


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_user_dumpers_in_copy_like_psycopg(pg_cluster, fmt):
    want = _user_dumpers_in_copy(psycopg, pg_cluster.conninfo, fmt)
    assert _user_dumpers_in_copy(bp, pg_cluster.conninfo, fmt) == want
    assert want[0][1] == "abab" and want[1][1] is None


def _copy_endings(lib: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo) as conn:
        cur = conn.cursor()
        conn.execute("create temp table ends (id int primary key)")
        with cur.copy("copy ends from stdin") as copy:
            for i in range(5):
                copy.write_row((i,))
        seen.append(cur.rowcount)
        with cur.copy("copy ends to stdout") as copy:
            for _block in copy:
                pass
        seen.append(cur.rowcount)
        try:
            with cur.copy("copy ends (id) from stdin") as copy:
                copy.write_row(("x",))
        except lib.Error as exc:
            seen.append((type(exc).__name__, cur.rowcount, conn.info.transaction_status.name))
        conn.rollback()
        for autocommit in (False, True):
            conn.autocommit = autocommit
            # An error in the block of a long COPY TO cancels it instead of reading it all.
            try:
                with cur.copy("copy (select generate_series(1, 1000000)) to stdout") as copy:
                    copy.read_row()
                    raise ZeroDivisionError
            except ZeroDivisionError:
                seen.append(("raised", conn.info.transaction_status.name, cur.rowcount))
            conn.rollback()
            seen.append(conn.execute("select 1").fetchone())
            conn.rollback()
    return seen


def test_copy_endings_like_psycopg(pg_cluster):
    assert _copy_endings(bp, pg_cluster.conninfo) == _copy_endings(psycopg, pg_cluster.conninfo)


# Values whose column type, given with set_types(), decides how they are dumped: psycopg
# dumps every value with the dumper of its column's type.
SET_TYPES_COLUMNS = [
    ("jsonb", {"a": [1, 2], "s": "tab\there"}),
    ("json", [1, {"b": None}]),
    ("int4[]", [1, None, 3]),
    ("int8[]", [[1, 2], [3, 4]]),
    ("text[]", ['a "quoted", {braced}', None, "back\\slash"]),
    ("numeric[]", [Decimal("1.5"), Decimal("-2")]),
    ("jsonb[]", [{"k": 1}, {"m": [2, "x"]}]),
    ("date[]", [dt.date(2020, 1, 2)]),
    ("float8[]", [1.5, float("inf")]),
    ("bool[]", [True, False, None]),
    ("int4", 7),
    ("text", "plain"),
    ("int4", True),  # written as the column's type: 1, not the bool's "t"
    ("int8", False),
    ("numeric", True),
    ("bool", True),
]


def _copy_set_types(lib: Any, conninfo: str, binary: bool) -> list[Any]:
    types = [t for t, _ in SET_TYPES_COLUMNS]
    row = [v for _, v in SET_TYPES_COLUMNS]
    columns = ", ".join(f"c{i} {t}" for i, t in enumerate(types))
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"create temporary table t ({columns})")
        cur = conn.cursor()
        out = []
        with cur.copy(f"copy t from stdin{' (format binary)' if binary else ''}") as copy:
            copy.set_types(types)
            copy.write_row(row)
            copy.write_row([None] * len(row))
        out.append(o(lambda: conn.execute("select * from t").fetchall()))
        out.append(o(lambda: conn.execute("select c0::text, c2::text, c4::text from t").fetchall()))
        return out


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_set_types_dump_by_column_type_like_psycopg(pg_cluster, binary):
    want = _copy_set_types(psycopg, pg_cluster.conninfo, binary)
    assert "EXC" not in str(want)
    assert _copy_set_types(bp, pg_cluster.conninfo, binary) == want


def test_array_dumpers_by_oid_like_psycopg():
    """get_dumper_by_oid() knows every builtin array type, as psycopg's adapters do."""
    for lib in (psycopg, bp):
        adapters = lib.adapters
        for name in ("int4", "text", "jsonb", "numeric", "timestamptz", "uuid"):
            info = adapters.types.get(name)
            for fmt in (lib.pq.Format.TEXT, lib.pq.Format.BINARY):
                dumper = adapters.get_dumper_by_oid(info.array_oid, fmt)
                assert dumper.oid == info.array_oid


def _copy_out_binary_types(lib: Any, conninfo: str, encoding: str) -> list[Any]:
    """Binary COPY read with set_types(): every value through its type's binary loader."""
    import importlib

    composite = importlib.import_module(f"{lib.__name__}.types.composite")
    enum = importlib.import_module(f"{lib.__name__}.types.enum")
    types = [
        "inet", "cidr", "uuid", "interval", "timestamptz", "time", "timetz", "bool", "float4",
        "int8range", "text[]", "jsonb", "copy_card", "copy_mood", "record", "bytea", "oid",
    ]  # fmt: skip
    query = (
        "select '1.2.3.4/24'::inet, '11.0.0.0/8'::cidr, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid,"
        " '1 mon 2 days 00:00:03'::interval, '2024-01-01 12:00+02'::timestamptz, '12:34'::time,"
        " '12:00+05:30'::timetz, true, 1.5::float4, int8range(1, 5), array['é', null],"
        " '{\"k\": [1, \"u\"]}'::jsonb, ('café', 'été')::copy_card, 'été'::copy_mood,"
        " row(1, 'à'::text), '\\x00ff'::bytea, 7::oid"
    )
    out: list[Any] = []
    with lib.connect(conninfo, autocommit=True, client_encoding=encoding) as conn:
        conn.execute("set timezone to 'Europe/Rome'")
        composite.register_composite(composite.CompositeInfo.fetch(conn, "copy_card"), conn)
        enum.register_enum(enum.EnumInfo.fetch(conn, "copy_mood"), conn)
        cur = conn.cursor()

        def read() -> Any:
            with cur.copy(f"copy ({query}) to stdout (format binary)") as copy:
                copy.set_types(types)
                return list(copy.rows())

        out.append(o(read))
    return out


@pytest.mark.parametrize("encoding", ["UTF8", "LATIN1"])
def test_copy_out_binary_types_like_psycopg(pg_cluster, encoding):
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute(
            "drop type if exists copy_card, copy_mood cascade;"
            " create type copy_mood as enum ('été', 'hiver');"
            " create type copy_card as (name text, mood copy_mood)"
        )
    want = _copy_out_binary_types(psycopg, pg_cluster.conninfo, encoding)
    assert "EXC" not in want[0]
    assert _copy_out_binary_types(bp, pg_cluster.conninfo, encoding) == want


def _copy_then_more(lib: Any, conninfo: str) -> list[Any]:
    out: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        cur = conn.cursor()

        def read() -> Any:
            with cur.copy("copy (select 1) to stdout; select 2") as copy:
                return [bytes(chunk) for chunk in copy]

        out.append(o(read))
        out.append(conn.execute("select 3").fetchone())
    return out


def test_copy_mixed_with_a_later_statement_like_psycopg(pg_cluster):
    assert _copy_then_more(bp, pg_cluster.conninfo) == _copy_then_more(psycopg, pg_cluster.conninfo)


@pytest.mark.parametrize("autocommit", [True, False])
def test_copy_after_another_statement_is_refused(pg_cluster, autocommit):
    # psycopg raises this ProgrammingError too, but leaves its connection inside the COPY
    # ("another command is already in progress" next); balrog ends the COPY first.
    with bp.connect(pg_cluster.conninfo, autocommit=autocommit) as conn:
        cur = conn.cursor()
        with pytest.raises(bp.ProgrammingError, match="COPY cannot be mixed with other operations"):
            with cur.copy("select 1; copy (select generate_series(1, 100000)) to stdout"):
                pass
        assert conn.execute("select 3").fetchone() == (3,)


def _status_during_copy(lib: Any, conninfo: str) -> list[Any]:
    out: list[Any] = []
    with lib.connect(conninfo) as conn:
        cur = conn.cursor()
        out.append(conn.info.transaction_status)
        with cur.copy("copy (select generate_series(1, 3)) to stdout") as copy:
            out.append(conn.info.transaction_status)
            while copy.read():
                out.append(conn.info.transaction_status)
            out.append(conn.info.transaction_status)
        out.append(conn.info.transaction_status)
        conn.execute("create temporary table during (x int)")
        with cur.copy("copy during from stdin") as copy:
            copy.write_row([1])
            out.append(conn.info.transaction_status)
        out.append((conn.info.transaction_status, cur.rowcount))
    return out


def test_transaction_status_during_copy_like_psycopg(pg_cluster):
    # ACTIVE while the server is in COPY mode, as libpq reports it.
    assert _status_during_copy(bp, pg_cluster.conninfo) == _status_during_copy(psycopg, pg_cluster.conninfo)


PINNED_COLUMNS = [
    "int2", "int4", "int8", "oid", "float4", "float8", "numeric", "text", "varchar", "bool",
    "date", "timestamp", "jsonb", "json", "bytea", "uuid", "int4[]", "text[]",
]  # fmt: skip
PINNED_VALUES: list[Any] = [
    1, True, 1.0, 2.5, "2", "x", b"2", bytearray(b"x"), Decimal("3"), Decimal("3.5"), 10**20,
    dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4), uuid.UUID(int=1), {"a": 1}, [1, 2], object(),
]  # fmt: skip
try:
    import numpy as np

    PINNED_VALUES += [np.int32(5), np.float64(2.5)]
except ImportError:  # numpy is optional
    pass


def _copy_pinned(conn: Any, column: str, value: Any, binary: bool) -> tuple[str, str]:
    """One value through COPY into a ``column`` column pinned by set_types: where it failed
    and how (write_row, or at the end of the COPY), or the text stored."""
    fmt = " (format binary)" if binary else ""
    conn.execute("truncate n")
    stage = "end"
    try:
        with conn.cursor().copy(f"copy n from stdin{fmt}") as copy:
            copy.set_types([column])
            stage = "write_row"
            copy.write_row([value])
            stage = "end"
    except Exception as exc:
        return stage, type(exc).__name__
    row = conn.execute("select x::text from n").fetchone()
    return "stored", row[0] if row else ""


def _known_difference(column: str, value: Any, binary: bool, want: Any, got: Any) -> bool:
    """Where balrog deliberately or harmlessly differs (docs/pg.md, COPY): in binary, an
    integer out of range or a value psycopg's oid packer refuses is a DataError at
    write_row (psycopg: OverflowError, struct.error, or int2/int4 stored truncated), and a
    str, bytes(array) or dict for an array column a TypeError (psycopg: IndexError); a UUID into a
    date or timestamp column fails at the end in both, with another SQLSTATE (psycopg
    sends its dashed form, balrog its hex)."""
    if binary and want[0] == "write_row" and got == ("write_row", "DataError"):
        return want[1] != "TypeError" and (column == "oid" or type(value) is int)
    if binary and column.endswith("[]") and isinstance(value, (str, bytes, bytearray, dict)):
        return want == ("write_row", "IndexError") and got == ("write_row", "TypeError")
    if isinstance(value, uuid.UUID) and column in ("date", "timestamp"):
        return want[0] == got[0] == "end"
    return False


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("column", PINNED_COLUMNS)
def test_set_types_columns_like_psycopg(pg_cluster, column, binary):
    """psycopg dumps a column pinned by set_types with the column type's dumper, whatever
    the value: it refuses some values at write_row (a float for an int column, an int for
    a text one, a str for a bytea one, a scalar for an array one), converts others (any
    value into a bool column is its truth, a str into a json one is a JSON string). balrog
    accepts, converts and refuses the same values the same way, up to the known
    differences above (never by storing something else: psycopg itself stores a wrapped
    int2/int4 there)."""
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as theirs:
        with bp.connect(pg_cluster.conninfo, autocommit=True) as ours:
            for conn in (theirs, ours):
                conn.execute(f"create temporary table n (x {column})")
            for value in PINNED_VALUES:
                want = _copy_pinned(theirs, column, value, binary)
                got = _copy_pinned(ours, column, value, binary)
                if got != want:
                    assert _known_difference(column, value, binary, want, got), (value, want, got)


def _copy_with_registered_dumper(lib: Any, conninfo: str) -> list[Any]:
    """Text COPY after set_types, the int4 column's dumper registered by the application
    (for int, with int4's oid): psycopg pins it for the column, whatever the value's type."""
    doubling = type(
        "DoublingIntDumper",
        (lib.adapt.Dumper,),
        {"oid": 23, "dump": lambda self, obj: str(int(obj) * 2).encode()},
    )
    out: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("create temporary table p (a int4, b int8, c float8)")
        cur = conn.cursor()
        cur.adapters.register_dumper(int, doubling)
        # (Ints into the float8 column too: their own dumper is now the application's, but
        # the column's is the builtin float dumper, which takes them.)
        batches = [
            [(1, 2, 3), (True, 3, 4.5), (Decimal("4"), 5, Decimal("1.5")), ("6", 7, 8)],
            [(object(), 1, 1)],
        ]
        for rows in batches:
            try:
                with cur.copy("copy p from stdin") as copy:
                    copy.set_types(["int4", "int8", "float8"])
                    for row in rows:
                        copy.write_row(row)
                out.append(conn.execute("select a, b, c from p order by b").fetchall())
            except Exception as exc:
                out.append(type(exc).__name__)
    return out


def test_set_types_pins_a_registered_dumper_like_psycopg(pg_cluster):
    want = _copy_with_registered_dumper(psycopg, pg_cluster.conninfo)
    assert want[0] == [(2, 2, 3.0), (2, 3, 4.5), (8, 5, 1.5), (12, 7, 8.0)]
    assert _copy_with_registered_dumper(bp, pg_cluster.conninfo) == want


# Text that is not the server's output for the type read back (a COPY column read as another
# type with set_types): psycopg's C loaders take any six groups of digits, zeros for the
# missing ones, and ignore what follows; they refuse BC and what makes no datetime.
LENIENT_TIMESTAMPS = [
    "2024-01-02",
    "2024-01-02 03:04",
    "2024-01-02T03:04:05.5",
    "2024-01-02 03:04:05.123456",
    "2024-01-02 03:04:05+02",
    "2024-01-02 03:04:05-02:30",
    "2024-01-02 03:04:05+05:30:15",
    "2024/01/02 03.04.05",
    "2024-01-02 03:04:05 trailing words",
    "2024-01-02 BC",
    "2024-01-02 03:04:05 BC",
    "infinity",
    "-infinity",
    "hello",
    "2024-13-01",
    "2024-01-02 25:00:00",
    "99999999999999999999999",
]


def _texts_read_as(lib: Any, conninfo: str, pg_type: str, texts: list[str]) -> list[Any]:
    out = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("set timezone to 'Europe/Rome'")
        cur = conn.cursor()
        for text in texts:
            try:
                with cur.copy("copy (select %s::text) to stdout", [text]) as copy:
                    copy.set_types([pg_type])
                    out.append((text, list(copy.rows())))
            except Exception as exc:
                out.append((text, type(exc).__name__))
    return out


@pytest.mark.parametrize("pg_type", ["timestamp", "timestamptz"])
def test_copy_out_reads_other_text_as_timestamps_like_psycopg(pg_cluster, pg_type):
    want = _texts_read_as(psycopg, pg_cluster.conninfo, pg_type, LENIENT_TIMESTAMPS)
    assert want[0] == ("2024-01-02", [(dt.datetime(2024, 1, 2, 0, 0),)]) or pg_type == "timestamptz"
    assert _texts_read_as(bp, pg_cluster.conninfo, pg_type, LENIENT_TIMESTAMPS) == want


def test_copy_out_reads_other_text_as_bool_like_psycopg(pg_cluster):
    # psycopg's C loader looks at the first byte only.
    texts = ["t", "f", "true", "false", "yes", "tomorrow", "T", "1", ""]
    want = _texts_read_as(psycopg, pg_cluster.conninfo, "bool", texts)
    assert ("true", [(True,)]) in want
    assert _texts_read_as(bp, pg_cluster.conninfo, "bool", texts) == want


def _rows_after_the_first(lib: Any, conninfo: str, binary: bool) -> list[Any]:
    """write_row checks every row, not only the first (balrog takes a short way after it):
    a row of the wrong width later on, set_types changed half way, rows after finish()."""
    out: list[Any] = []
    statement = "copy t from stdin" + (" (format binary)" if binary else "")
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("create temporary table t (id int, name text, f float8)")
        cur = conn.cursor()

        def wrong_width_later() -> Any:
            with cur.copy(statement) as cp:
                cp.set_types(["int4", "text", "float8"])
                for i in range(5):
                    cp.write_row((i, f"n{i}", i / 2))
                cp.write_row((9, "short"))
            return cur.rowcount

        def types_changed_half_way() -> Any:
            with cur.copy(statement) as cp:
                for i in range(3):
                    cp.write_row((i, f"n{i}", i / 2))
                cp.set_types(["int4", "text"])
                cp.write_row((7, "x", 1.0))
            return cur.rowcount

        def untyped_rows() -> Any:
            with cur.copy(statement) as cp:
                for i in range(4):
                    cp.write_row((i, None, float(i)))
            return cur.rowcount

        def rows_after_the_end() -> Any:
            with cur.copy(statement) as cp:
                for i in range(3):
                    cp.write_row((i, "x", 0.5))
            late = [o(lambda: cp.write_row((9, "late", 1.0))), o(lambda: cp.write_row((9,)))]
            return [cur.rowcount, late, conn.info.transaction_status.name]

        for step in (wrong_width_later, types_changed_half_way, untyped_rows, rows_after_the_end):
            out.append(o(step))
            out.append(conn.execute("select count(*), sum(id) from t").fetchone())
    return out


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_every_row_is_checked_like_psycopg(pg_cluster, binary):
    expected = _rows_after_the_first(psycopg, pg_cluster.conninfo, binary)
    assert _rows_after_the_first(bp, pg_cluster.conninfo, binary) == expected
