"""balrog.psycopg.sql against psycopg.sql: composition renders byte-identical, literals match."""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql as ref
from psycopg.types import json as ref_json
from psycopg.types import multirange as ref_multirange
from psycopg.types import numeric as ref_numeric
from psycopg.types import range as ref_range

from balrog.psycopg import _sql_literal, sql
from balrog.psycopg import errors as e


def driver_available() -> bool:
    try:
        sql.Literal(1).as_string(None)
    except ImportError:
        return False
    return True


needs_driver = pytest.mark.skipif(
    not driver_available(), reason="balrog.psycopg adaptation not importable yet"
)


# -- composition --------------------------------------------------------------------------------

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=0, max_size=12
)


def both(build: Any) -> tuple[Any, Any]:
    """Build the same object with each module (``build(module)``)."""
    return build(sql), build(ref)


def assert_same_render(build: Any) -> None:
    ours, theirs = both(build)
    assert ours.as_bytes(None) == theirs.as_bytes(None)
    assert ours.as_string(None) == theirs.as_string(None)
    assert repr(ours) == repr(theirs)


@settings(max_examples=300, deadline=None)
@given(st.lists(names, min_size=1, max_size=3))
def test_identifier(parts: list[str]) -> None:
    assert_same_render(lambda m: m.Identifier(*parts))


@settings(max_examples=200, deadline=None)
@given(names, st.sampled_from(["s", "t", "b"]))
def test_placeholder(name: str, fmt: str) -> None:
    if ")" in name:
        with pytest.raises(ValueError):
            sql.Placeholder(name)
        return
    assert_same_render(lambda m: m.Placeholder(name, fmt))


TEMPLATES = [
    "select {} from {}",
    "select {0}, {1}, {0}",
    "insert into {table} ({fields}) values ({values})",
    "{{literal braces}} {}",
    "no placeholders",
    "",
    "{}{}{}",
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_format(template: str) -> None:
    def build(m: Any) -> Any:
        args = [m.Identifier("a"), m.SQL("x"), m.Placeholder("p")]
        kwargs = {
            "table": m.Identifier("s", "t"),
            "fields": m.SQL(", ").join([m.Identifier("f1"), m.Identifier('f"2')]),
            "values": m.SQL(", ").join(m.Placeholder() * 2),
        }
        return m.SQL(template).format(*args, **kwargs)

    assert_same_render(build)


@pytest.mark.parametrize(
    ("template", "args"),
    [("{0} {}", (1, 2)), ("{} {0}", (1, 2)), ("{!r}", (1,)), ("{:>10}", (1,)), ("{x}", ()), ("{3}", (1,))],
)
def test_format_errors(template: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(Exception) as ours:
        sql.SQL(template).format(*args)
    with pytest.raises(Exception) as theirs:
        ref.SQL(template).format(*args)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


@needs_driver
def test_composed_operations() -> None:
    def build(m: Any) -> Any:
        composed = m.SQL("a") + m.Identifier("b") + m.Literal(1)
        composed = composed + (m.SQL(" ") * 2) + m.Composed([m.SQL("x"), "lit", 3])
        return composed.join(", ")

    assert_same_render(build)
    assert list(sql.Composed([sql.SQL("a"), 1])) == [sql.SQL("a"), sql.Literal(1)]
    assert sql.SQL("a") == sql.SQL("a") and sql.SQL("a") != sql.Identifier("a")
    assert sql.SQL(", ").join([]).as_string(None) == ""
    assert sql.SQL(", ").join(["a", 1]).as_string(None) == ref.SQL(", ").join(["a", 1]).as_string(None)


def test_type_errors() -> None:
    for build in (
        lambda m: m.SQL(b"x"),
        lambda m: m.Identifier(),
        lambda m: m.Identifier("a", 1),
        lambda m: m.Placeholder(1),
        lambda m: m.Composed([m.SQL("a")]).join(1),
        lambda m: m.SQL("a") + "b",
    ):
        with pytest.raises(TypeError):
            build(sql)
        with pytest.raises(TypeError):
            build(ref)


def test_null_and_default() -> None:
    assert sql.NULL.as_string(None) == "NULL" and sql.DEFAULT.as_string(None) == "DEFAULT"


# -- literals: the self-contained fallback against psycopg ----------------------------------


class Color(enum.Enum):
    RED = 1


class Code(str, enum.Enum):  # noqa: UP042 - a str mixin, not StrEnum
    X = "x"


class Small(enum.IntEnum):
    A = 3


def literal_cases(m_json: Any, m_range: Any, m_multirange: Any, m_numeric: Any) -> list[Any]:
    Range = m_range.Range
    return [
        None, True, False, 0, 1, -1, 2**15, 2**31, 2**63, -(2**63) - 1, 1.5, -1.5, -0.0,
        float("inf"), float("-inf"), float("nan"), 1e100, 1e-7,
        Decimal("1.50"), Decimal("-3"), Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"),
        Decimal("-Infinity"), Decimal("-0"), Decimal("1E+3"),
        "abc", "it's", "back\\slash", "", "é", "日本", "tab\tnew\nline", "'; drop table x; --",
        b"", b"\x00\x01'\\", bytearray(b"ab"), memoryview(b"ab"), b"\xff\x7f ~",
        dt.date(2024, 1, 2), dt.date.max, dt.datetime(2024, 1, 2, 3, 4, 5),
        dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30, seconds=10))),
        dt.time(1, 2, 3), dt.time(1, 2, 3, 400), dt.time(1, 2, 3, tzinfo=dt.UTC),
        dt.timedelta(days=1, seconds=3), dt.timedelta(0), dt.timedelta(days=-1, seconds=5),
        dt.timedelta(microseconds=5), dt.timedelta(days=3),
        uuid.UUID(int=1), [1, 2], [], [None], [1, None], [[1, 2], [3, 4]], ["a", "b"],
        ["a b", 'c"d', "e\\f", "NULL", "", None], [1.5], [True], [dt.date(2020, 1, 1)], [2**40], [1, 2**40],
        [-1], [Decimal(1)], [uuid.UUID(int=2)], [2**15], [-(2**15) - 1], [2**63], [[1], [None]], [[None]],
        [None, [None]], ["a", None], [dt.datetime(2020, 1, 1)], [float("inf")], [dt.timedelta(1)],
        [dt.time(1, tzinfo=dt.UTC)], [[], [1]], [[1, 2], [3]], ["{", "}", "a,b", " lead", "null"],
        ["é\u3000x", "a\u00a0b"], [Decimal(1), Decimal("NaN")], [Small.A], [1, Small.A],
        [dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1, tzinfo=dt.UTC)],
        [ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("::1")],
        ("a b", None, "", 'q"\\', 1, (1, 2)), (), (None,), [("a",)],
        m_numeric.Int2(1), m_numeric.Int4(-1), m_numeric.Int8(5), m_numeric.Float4(1.5),
        m_numeric.Float4(float("nan")), m_numeric.Float8(2.0), m_numeric.Oid(3), [m_numeric.Int4(1)],
        [m_numeric.Float4(1)], [m_numeric.Int8(1), None],
        m_json.Json({"a": 1}), m_json.Jsonb([1, "x'y"]), m_json.Jsonb("s\\"),
        m_json.Jsonb({"k": 1}, dumps=lambda o: "custom"),
        Range(1, 5), Range(1, 5, "[]"), Range(empty=True), Range(None, None),
        Range(dt.date(2020, 1, 1), None),
        Range(1.5, 2.5), Range(Decimal(1), None), Range(dt.datetime(2020, 1, 1), dt.datetime(2021, 1, 1)),
        Range(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), None), Range("a", "b"), Range("", None),
        Range('x"y', "q\\"), Range(1, None, "(]"), Range(1, 2**40), Range(m_numeric.Int4(1), None),
        Range(m_numeric.Int8(1), None), [Range(1, 2)], [Range(dt.date(2020, 1, 1), None)],
        m_range.Int4Range(1, 2), m_range.DateRange(dt.date(2020, 1, 1), None),
        m_multirange.Multirange([Range(1, 3)]), m_multirange.Multirange(),
        m_multirange.Multirange([Range(dt.date(2020, 1, 1), None)]),
        m_multirange.Multirange([Range(empty=True), Range(1, 2)]),
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_interface("10.0.0.1/8"), ipaddress.ip_address("::1"),
        Color.RED, Code.X, Small.A,
    ]  # fmt: skip


def ours_cases() -> list[Any]:
    from balrog.psycopg.types import json, multirange, numeric, range

    return literal_cases(json, range, multirange, numeric)


REF_CASES = literal_cases(ref_json, ref_range, ref_multirange, ref_numeric)
OUR_CASES = ours_cases()
CASE_IDS = [f"{i}-{type(v).__name__}" for i, v in enumerate(REF_CASES)]


def rendered(func: Any) -> tuple[str, Any]:
    try:
        return ("ok", func())
    except Exception as ex:
        return (type(ex).__name__, str(ex))


@pytest.fixture(scope="module")
def ref_conn(pg_cluster: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize("index", range(len(REF_CASES)), ids=CASE_IDS)
def test_fallback_literal_without_connection(index: int) -> None:
    ours = rendered(lambda: _sql_literal.literal(OUR_CASES[index], connected=False).decode())
    theirs = rendered(lambda: ref.Literal(REF_CASES[index]).as_string(None))
    assert ours == theirs


@pytest.mark.parametrize("index", range(len(REF_CASES)), ids=CASE_IDS)
def test_fallback_literal_with_connection(index: int, ref_conn: psycopg.Connection[Any]) -> None:
    if isinstance(REF_CASES[index], list) and any(isinstance(x, bytes) for x in REF_CASES[index]):
        pytest.skip("bytea arrays")
    ours = rendered(lambda: _sql_literal.literal(OUR_CASES[index], connected=True).decode())
    theirs = rendered(lambda: ref.Literal(REF_CASES[index]).as_string(ref_conn))
    assert ours == theirs


@pytest.mark.parametrize("value", [{"a": 1}, object(), [1, 1.5], [True, 1], "nul\x00"])
def test_fallback_literal_errors(value: Any) -> None:
    ours = rendered(lambda: _sql_literal.literal(value))
    theirs = rendered(lambda: ref.Literal(value).as_string(None))
    assert ours == theirs and ours[0] != "ok"
    assert ours[0] in ("ProgrammingError", "DataError")


def test_fallback_recursive_list() -> None:
    items: list[Any] = [1]
    items.append(items)
    with pytest.raises(e.DataError, match="recursive"):
        _sql_literal.literal(items)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_fallback_string_literal_round_trips_through_the_server(value: str) -> None:
    # Injection-proof: whatever the text, the server reads back exactly the same string.
    with psycopg.connect(_CONNINFO[0], autocommit=True) as conn:
        query = b"select " + _sql_literal.literal(value, connected=True)
        assert conn.execute(query).fetchone() == (value,)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_fallback_bytes_literal_round_trips_through_the_server(value: bytes) -> None:
    with psycopg.connect(_CONNINFO[0], autocommit=True) as conn:
        for connected in (True, False):
            query = b"select " + _sql_literal.literal(value, connected=connected)
            assert conn.execute(query).fetchone() == (value,)


_CONNINFO: list[str] = []


@pytest.fixture(autouse=True, scope="module")
def _remember_conninfo(pg_cluster: Any) -> None:
    _CONNINFO[:] = [pg_cluster.conninfo]


# -- sql.Literal / sql.quote through the driver's adaptation --------------------------------


@needs_driver
@pytest.mark.parametrize("index", range(len(REF_CASES)), ids=CASE_IDS)
def test_literal_matches_psycopg(index: int) -> None:
    ours = rendered(lambda: sql.Literal(OUR_CASES[index]).as_string(None))
    theirs = rendered(lambda: ref.Literal(REF_CASES[index]).as_string(None))
    assert ours == theirs


@pytest.fixture(scope="module")
def our_conn(pg_cluster: Any) -> Iterator[Any]:
    import balrog.psycopg as bp

    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        yield conn


@needs_driver
@pytest.mark.parametrize("index", range(len(REF_CASES)), ids=CASE_IDS)
def test_literal_with_connection_matches_psycopg(
    index: int, our_conn: Any, ref_conn: psycopg.Connection[Any]
) -> None:
    ours = rendered(lambda: sql.Literal(OUR_CASES[index]).as_string(our_conn))
    theirs = rendered(lambda: ref.Literal(REF_CASES[index]).as_string(ref_conn))
    assert ours == theirs


def fetched(conn: Any, cursor_class: Any, value: Any) -> tuple[str, Any]:
    """mogrify, then the row the server returns for it (or the error's class)."""
    cur = cursor_class(conn)
    try:
        query = cur.mogrify("select %s", [value])
        cur.execute("select %s", [value])
        return (query, repr(cur.fetchone()))
    except Exception as ex:
        return ("error", type(ex).__name__)


@needs_driver
@pytest.mark.parametrize("index", range(len(REF_CASES)), ids=CASE_IDS)
def test_client_cursor_matches_psycopg(index: int, our_conn: Any, ref_conn: psycopg.Connection[Any]) -> None:
    import balrog.psycopg as bp

    ours = fetched(our_conn, bp.ClientCursor, OUR_CASES[index])
    theirs = fetched(ref_conn, psycopg.ClientCursor, REF_CASES[index])
    assert ours == theirs


@needs_driver
def test_quote() -> None:
    assert sql.quote("it's") == ref.quote("it's") == "'it''s'"
    assert sql.quote(None) == "NULL"


def test_quoting_on_a_closed_connection_as_psycopg(pg_cluster):
    # psycopg quotes strings and identifiers with libpq on the connection, which refuses a
    # closed one (OperationalError); numbers and plain SQL need no connection.
    import balrog.psycopg as bp

    def run(mod, sql):
        conn = mod.connect(pg_cluster.conninfo)
        client = mod.ClientCursor(conn)
        conn.close()
        cases = [
            lambda: sql.Literal("x").as_string(conn),
            lambda: sql.Literal(1).as_string(conn),
            lambda: sql.Identifier("x").as_string(conn),
            lambda: sql.SQL("select {}").format(sql.Literal("a")).as_string(conn),
            lambda: sql.SQL("select {}").format(sql.Identifier("a")).as_bytes(conn),
            lambda: sql.quote("x", conn),
            lambda: sql.SQL("select 1").as_string(conn),
            lambda: client.mogrify("select %s", ["a"]),
            lambda: client.mogrify("select %s", [1]),
        ]
        outcomes = []
        for case in cases:
            try:
                outcomes.append(("ok", case()))
            except Exception as ex:
                outcomes.append((type(ex).__name__, str(ex)))
        return outcomes

    assert run(bp, sql) == run(psycopg, ref)
