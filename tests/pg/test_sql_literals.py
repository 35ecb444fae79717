"""Client-side literals against psycopg's, for generated values of every builtin type.

The same value (built with each package's wrappers: Json, Range, Int4 ...) is rendered by
``sql.Literal`` without a connection, by ``sql.Literal`` and ``ClientCursor.mogrify`` with
one, and executed through ``ClientCursor``: the text must be byte-identical to psycopg's
and the rows read back the same. A second family of tests checks that the server reads
back the original value from the literal, in sessions whose TimeZone is not UTC.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import json
import math
import zoneinfo
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from psycopg import sql as ref_sql
from psycopg.types import json as ref_json
from psycopg.types import multirange as ref_multirange
from psycopg.types import numeric as ref_numeric
from psycopg.types import range as ref_range

import balrog.psycopg as bp
from balrog.psycopg import _sql_literal
from balrog.psycopg import sql as our_sql
from balrog.psycopg.types import json as our_json
from balrog.psycopg.types import multirange as our_multirange
from balrog.psycopg.types import numeric as our_numeric
from balrog.psycopg.types import range as our_range

# -- one value, built with either package's wrappers ----------------------------------------


class Wrap:
    """A value that needs a package's own class: ``Wrap("jsonb", obj)`` → ``Jsonb(obj)``."""

    def __init__(self, kind: str, *args: Any, **kwargs: Any) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs

    def __repr__(self) -> str:
        return f"Wrap({self.kind!r}, {self.args!r}, {self.kwargs!r})"


class Package:
    def __init__(self, json_mod: ModuleType, range_mod: ModuleType, mr_mod: ModuleType, num: ModuleType):
        self.factories: dict[str, Callable[..., Any]] = {
            "json": json_mod.Json,
            "jsonb": json_mod.Jsonb,
            "range": range_mod.Range,
            "multirange": mr_mod.Multirange,
            "int2": num.Int2,
            "int4": num.Int4,
            "int8": num.Int8,
            "numeric": num.IntNumeric,
            "oid": num.Oid,
            "float4": num.Float4,
            "float8": num.Float8,
        }

    def build(self, value: Any) -> Any:
        if isinstance(value, Wrap):
            return self.factories[value.kind](*map(self.build, value.args), **value.kwargs)
        if isinstance(value, list):
            return [self.build(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.build(item) for item in value)
        return value


REF = Package(ref_json, ref_range, ref_multirange, ref_numeric)
OURS = Package(our_json, our_range, our_multirange, our_numeric)


def outcome(func: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", func())
    except Exception as ex:
        return (type(ex).__name__, str(ex))


# -- strategies -------------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
# Characters that matter to quoting, often.
tricky_texts = st.lists(
    st.sampled_from(["'", '"', "\\", ",", "{", "}", "(", ")", "[", "]", " ", "\t", "\n", "\r", "\v", "\f",
                     "NULL", "null", "a", "é", "\u3000", "\u00a0", "\u2028", "\u1680", "E", "--", "$$", ";"]),
    max_size=6,
).map("".join)  # fmt: skip
any_texts = st.one_of(texts, tricky_texts)

FIXED_ZONES = st.builds(
    dt.timezone,
    st.integers(-14 * 60, 14 * 60).map(lambda minutes: dt.timedelta(minutes=minutes)),
)
# Offsets with seconds (PostgreSQL reads "+05:30:10"), and zones with rules.
SECOND_ZONES = st.builds(
    dt.timezone, st.integers(-50_000, 50_000).map(lambda seconds: dt.timedelta(seconds=seconds))
)
RULE_ZONES = st.sampled_from(
    [zoneinfo.ZoneInfo(name) for name in ("Europe/Rome", "America/New_York", "Asia/Kolkata", "UTC")]
)
naive_datetimes = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))
aware_datetimes = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.one_of(FIXED_ZONES, SECOND_ZONES, RULE_ZONES),
)
naive_times = st.times()
aware_times = st.times(timezones=st.one_of(FIXED_ZONES, SECOND_ZONES))
timedeltas = st.timedeltas(min_value=dt.timedelta(days=-(10**6)), max_value=dt.timedelta(days=10**6))
decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("-0")]
    ),
)
ip_values = st.one_of(
    st.ip_addresses(),
    st.ip_addresses(v=4).map(lambda a: ipaddress.ip_interface(f"{a}/24")),
    st.ip_addresses(v=6).map(lambda a: ipaddress.ip_interface(f"{a}/64")),
    st.ip_addresses(v=4).map(lambda a: ipaddress.ip_network(f"{a}/16", strict=False)),
    st.ip_addresses(v=6).map(lambda a: ipaddress.ip_network(f"{a}/48", strict=False)),
)


class Color(enum.Enum):
    RED = 1
    GREEN_ish = "g"


class Word(str, enum.Enum):  # noqa: UP042 - a str mixin, not StrEnum
    A = "a b"
    Q = "it's"


class Num(enum.IntEnum):
    ONE = 1
    BIG = 2**40


# One strategy per kind of element: lists are made of one kind (as arrays need).
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "bool": st.booleans(),
    "int": st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 2**15, -(2**15) - 1, 2**63])),
    "float": st.floats(),
    "decimal": decimals,
    "str": any_texts,
    "bytes": st.binary(max_size=16),
    "date": st.dates(),
    "naive_datetime": naive_datetimes,
    "aware_datetime": aware_datetimes,
    "naive_time": naive_times,
    "aware_time": aware_times,
    "timedelta": timedeltas,
    "uuid": st.uuids(),
    "ip": ip_values,
    "enum": st.sampled_from([*Color, *Word, *Num]),
    "int_wrapper": st.builds(
        Wrap, st.sampled_from(["int2", "int4", "int8", "numeric", "oid"]), st.integers(-(2**31), 2**31)
    ),
    "float_wrapper": st.builds(Wrap, st.sampled_from(["float4", "float8"]), st.floats(width=32)),
}

# Floats that jsonb (numeric inside) gives back exactly.
json_floats = st.floats(-1e15, 1e15).map(lambda x: round(x, 3))


def json_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(children, max_size=3), st.dictionaries(texts, children, max_size=3))


json_objects = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), json_floats, texts), json_containers, max_leaves=8
)
jsons = st.builds(Wrap, st.sampled_from(["json", "jsonb"]), json_objects)

RANGE_BOUNDS = {
    "int": st.integers(-(2**40), 2**40),
    "decimal": st.decimals(allow_nan=False, allow_infinity=False, places=3),
    "date": st.dates(),
    "naive_datetime": naive_datetimes,
    "aware_datetime": st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=FIXED_ZONES
    ),
    "str": any_texts,
}


@st.composite
def ranges(draw: st.DrawFn, kind: str | None = None) -> Wrap:
    if draw(st.integers(0, 9)) == 0:
        return Wrap("range", empty=True)
    bound = RANGE_BOUNDS[kind or draw(st.sampled_from(sorted(RANGE_BOUNDS)))]
    lower, upper = draw(st.none() | bound), draw(st.none() | bound)
    if lower is not None and upper is not None and upper < lower:
        lower, upper = upper, lower
    return Wrap("range", lower, upper, draw(st.sampled_from(["[)", "(]", "[]", "()"])))


@st.composite
def multiranges(draw: st.DrawFn) -> Wrap:
    # Ranges of one kind of bound (mixing them is meaningless to the server).
    kind = draw(st.sampled_from(sorted(RANGE_BOUNDS)))
    return Wrap("multirange", draw(st.lists(ranges(kind), max_size=3)))


@st.composite
def arrays(draw: st.DrawFn) -> list[Any]:
    element = SCALARS[draw(st.sampled_from(sorted(SCALARS)))]
    items = st.none() | element
    if draw(st.booleans()):
        return draw(st.lists(items, max_size=5))
    # Two dimensions, rectangular (as PostgreSQL needs) or not (an error in both).
    width = draw(st.integers(0, 3))
    rows = st.lists(items, min_size=width, max_size=width if draw(st.booleans()) else 3)
    return draw(st.lists(rows, max_size=3))


scalars = st.one_of(st.none(), *SCALARS.values())
values = st.one_of(
    scalars,
    jsons,
    ranges(),
    arrays(),
    st.lists(scalars, max_size=4),  # mixed kinds: an error, the same in both
    st.tuples(scalars, any_texts) | st.lists(scalars, max_size=4).map(tuple),
    multiranges(),
    st.lists(st.tuples(st.integers(), any_texts), max_size=3),
)


def leaves(value: Any) -> Iterator[Any]:
    """The value and everything inside it (list, tuple, range, multirange items)."""
    yield value
    yield from in_containers(value)


def in_containers(value: Any) -> Iterator[Any]:
    """What ends up inside an array, record or range literal."""
    if isinstance(value, list | tuple):
        children: Any = value
    elif isinstance(value, Wrap) and value.kind in ("range", "multirange"):
        children = value.args
    else:
        return
    for child in children:
        yield from leaves(child)


def documented_difference(value: Any) -> bool:
    """Values where balrog deliberately writes something else (docs/pg-modules.md)."""
    # psycopg writes " -NaN", which the server rejects; balrog writes 'NaN'::numeric.
    if any(isinstance(x, Decimal) and x.is_nan() and x.is_signed() for x in leaves(value)):
        return True
    # Without a connection psycopg leaves bytea inside arrays/records to libpq's
    # PQescapeBytea, whose quotes are doubled again by the literal's quoting: balrog
    # writes what the server reads back as the same bytes.
    return any(isinstance(x, bytes) and b"'" in x for x in in_containers(value))


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conns(pg_cluster: Any) -> Iterator[tuple[Any, Any]]:
    # A psycopg connection first: libpq's escaping without a connection follows the last
    # standard_conforming_strings it saw (on), which is what the no-connection tests expect.
    with (
        psycopg.connect(pg_cluster.conninfo, autocommit=True) as theirs,
        bp.connect(pg_cluster.conninfo, autocommit=True) as ours,
    ):
        yield ours, theirs


SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# -- byte-identical literals --------------------------------------------------------------


@SETTINGS
@given(values)
def test_literal_without_connection(conns: tuple[Any, Any], value: Any) -> None:
    assume(not documented_difference(value))
    ours = outcome(lambda: our_sql.Literal(OURS.build(value)).as_string(None))
    theirs = outcome(lambda: ref_sql.Literal(REF.build(value)).as_string(None))
    assert ours == theirs


@SETTINGS
@given(values)
def test_literal_with_connection(conns: tuple[Any, Any], value: Any) -> None:
    assume(not documented_difference(value))
    ours = outcome(lambda: our_sql.Literal(OURS.build(value)).as_string(conns[0]))
    theirs = outcome(lambda: ref_sql.Literal(REF.build(value)).as_string(conns[1]))
    assert ours == theirs


@SETTINGS
@given(values, st.booleans())
# A Decimal beside an IntNumeric (one oid): the int dumper serves the list and refuses the
# Decimal (found by this test on a fresh clone; the fallback raised ValueError).
@example([Decimal("NaN"), Wrap("numeric", 0)], False)
@example([Decimal(1), Wrap("numeric", 0)], True)
def test_fallback_literal(conns: tuple[Any, Any], value: Any, connected: bool) -> None:
    """The self-contained renderer (used if the adaptation layer cannot be imported)."""
    assume(not documented_difference(value))
    ours = outcome(lambda: _sql_literal.literal(OURS.build(value), connected=connected).decode())
    theirs = outcome(lambda: ref_sql.Literal(REF.build(value)).as_string(conns[1] if connected else None))
    assert ours == theirs


@pytest.mark.parametrize(
    "value",
    [
        [dt.time(0, 0), dt.time(0, 0, tzinfo=dt.UTC)],
        [dt.time(0, 0, tzinfo=dt.UTC), dt.time(0, 0)],
        [dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1, tzinfo=dt.UTC)],
    ],
)
def test_fallback_literal_naive_and_aware_in_one_list(value: list[Any]) -> None:
    # psycopg dumps a list with the dumper of its last element of a type: a naive time
    # before an aware one fails in TimeTzDumper (found by test_fallback_literal).
    ours = outcome(lambda: _sql_literal.literal(value).decode())
    theirs = outcome(lambda: ref_sql.Literal(value).as_string(None))
    assert ours == theirs


def rows(conn: Any, cursor_class: Any, query: str, params: Any) -> tuple[str, Any]:
    cur = cursor_class(conn)
    try:
        cur.execute(query, params)
        return ("ok", cur.fetchall())
    except Exception as ex:
        return ("error", type(ex).__name__)


def same_rows(ours: Any, theirs: Any) -> bool:
    """Equal, NaN included (NaN != NaN), recursively."""
    if isinstance(ours, float) and isinstance(theirs, float) and math.isnan(ours):
        return math.isnan(theirs)
    if isinstance(ours, Decimal) and isinstance(theirs, Decimal) and ours.is_nan():
        return theirs.is_nan()
    if isinstance(ours, list | tuple) and isinstance(theirs, list | tuple):
        return (
            type(ours) is type(theirs)
            and len(ours) == len(theirs)
            and all(same_rows(a, b) for a, b in zip(ours, theirs, strict=True))
        )
    if type(ours).__module__.startswith(("psycopg", "balrog")):
        # Each package's own Range/Multirange class: the same name and repr.
        return type(ours).__name__ == type(theirs).__name__ and repr(ours) == repr(theirs)
    return type(ours) is type(theirs) and ours == theirs


@SETTINGS
@given(values, st.sampled_from(["select %s", "select 1-%s", "select %s, %s"]))
def test_client_cursor_matches_psycopg(conns: tuple[Any, Any], value: Any, query: str) -> None:
    """mogrify is byte-identical; the rows the server returns are the same values."""
    assume(not documented_difference(value))
    ours, theirs = conns
    params = [value] * query.count("%s")
    our_query = outcome(lambda: bp.ClientCursor(ours).mogrify(query, OURS.build(params)))
    their_query = outcome(lambda: psycopg.ClientCursor(theirs).mogrify(query, REF.build(params)))
    assert our_query == their_query
    if our_query[0] != "ok":
        return
    our_rows = rows(ours, bp.ClientCursor, query, OURS.build(params))
    their_rows = rows(theirs, psycopg.ClientCursor, query, REF.build(params))
    assert our_rows[0] == their_rows[0], (our_rows, their_rows)
    if our_rows[0] == "ok":
        assert same_rows(our_rows[1], their_rows[1]), (our_rows, their_rows)


@pytest.mark.parametrize(
    "value",
    [Decimal("-NaN"), Decimal("-sNaN"), [Decimal("-NaN")]],
    ids=["-NaN", "-sNaN", "[-NaN]"],
)
def test_signed_nan_is_valid_sql(conns: tuple[Any, Any], value: Any) -> None:
    # psycopg writes " -NaN" (a syntax error on the server): balrog keeps the NaN.
    cur = bp.ClientCursor(conns[0])
    cur.execute("select %s::text", [value])
    assert "NaN" in str(cur.fetchone())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.binary(max_size=8), min_size=1, max_size=3))
def test_bytea_in_arrays_without_connection(conns: tuple[Any, Any], value: list[bytes | None]) -> None:
    """The server's escape format: psycopg's where it reads back right, and always right."""
    ours = our_sql.Literal(value).as_string(None)
    assert _sql_literal.literal(value).decode() == ours
    if not any(b"'" in item for item in value if item is not None):
        # (with a connection seen first: conns makes libpq's escaping single-backslashed)
        assert ours == ref_sql.Literal(value).as_string(None)
    # (all NULL: no element type, so no cast in the literal)
    query = f"select ({ours})::bytea[]"
    assert conns[1].execute(query).fetchone() == (value,)  # type: ignore[call-overload]


# -- the server reads the original value back -----------------------------------------------

# Session time zones: a literal must not depend on them (except a naive datetime's meaning,
# which psycopg leaves to the server too).
ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]

readable_decimals = st.decimals(allow_nan=True, allow_infinity=True, places=6).filter(
    lambda d: not d.is_snan()
)
modern_aware_datetimes = st.datetimes(
    min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=FIXED_ZONES
)
int_matrices = st.lists(
    st.lists(st.none() | st.integers(-(2**40), 2**40), min_size=2, max_size=2), max_size=3
)

ROUND_TRIP: dict[str, tuple[st.SearchStrategy[Any], str]] = {
    # kind: (values, cast for the query when the literal's type is left to the server)
    "str": (any_texts, ""),
    "bytes": (st.binary(max_size=32), ""),
    "int": (st.integers(-(2**80), 2**80), ""),
    "bool": (st.booleans(), ""),
    "decimal": (readable_decimals, ""),
    "float": (st.floats(), ""),
    "date": (st.dates(), ""),
    "naive_datetime": (naive_datetimes, ""),
    "aware_datetime": (modern_aware_datetimes, ""),
    "naive_time": (naive_times, ""),
    "aware_time": (st.times(timezones=FIXED_ZONES), ""),
    "timedelta": (timedeltas, ""),
    "uuid": (st.uuids(), ""),
    "ip": (ip_values, ""),
    "str_list": (st.lists(st.none() | any_texts, max_size=4), "::text[]"),
    "int_list": (int_matrices, "::int8[]"),
    "date_list": (st.lists(st.none() | st.dates(), max_size=4), "::date[]"),
    "jsonb": (json_objects, ""),
}


def expected(kind: str, value: Any) -> Any:
    """What the server reads back from the literal, as Python loads it."""
    if kind == "float":
        # A bare number is numeric to the server; the special values are cast to float8.
        return value if math.isinf(value) or math.isnan(value) else Decimal(repr(value))
    if kind == "decimal" and value.is_nan():
        return Decimal("NaN")
    if kind == "int" and not -(2**63) <= value < 2**63:
        return Decimal(value)  # numeric beyond int8
    return value


@pytest.mark.both_modes
@pytest.mark.parametrize("kind", sorted(ROUND_TRIP))
def test_server_reads_back_the_value(conns: tuple[Any, Any], kind: str) -> None:
    strategy, cast = ROUND_TRIP[kind]
    ours = conns[0]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy, st.sampled_from(ZONES))
    def check(value: Any, zone: str) -> None:
        ours.execute(f"set timezone to '{zone}'")
        try:
            param = OURS.build(Wrap("jsonb", value)) if kind == "jsonb" else value
            cur = bp.ClientCursor(ours)
            cur.execute(f"select %s{cast}", [param])
            (got,) = cur.fetchone()  # type: ignore[misc]
        finally:
            ours.execute("set timezone to 'UTC'")
        want = expected(kind, value)
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(got, float) and math.isnan(got)
        elif isinstance(want, Decimal) and want.is_nan():
            assert got.is_nan()
        elif kind == "jsonb":
            assert got == want, (value, got)  # jsonb may write 1e+16 back as 10000000000000000
        elif isinstance(want, dt.datetime) and want.tzinfo is not None:
            # Compare instants: Python's == between two zones is False whenever one side is
            # an ambiguous local time (PEP 495), e.g. 01:00 on a DST-end day in New York.
            assert type(got) is dt.datetime, (value, got)
            assert got.astimezone(dt.UTC) == want.astimezone(dt.UTC), (value, got)
        else:
            assert got == want and type(got) is type(want), (value, got)
        if isinstance(want, dt.datetime | dt.time) and want.tzinfo is not None:
            assert got.utcoffset() is not None

    check()


@pytest.mark.both_modes
def test_interval_style_sql_standard(conns: tuple[Any, Any]) -> None:
    # With sql_standard a leading "-" applies to every field: each field gets its own sign.
    ours, theirs = conns
    values = [dt.timedelta(days=-1, seconds=5), dt.timedelta(microseconds=-1), dt.timedelta(days=2, hours=3)]
    for conn in (ours, theirs):
        conn.execute("set intervalstyle to 'sql_standard'")
    try:
        for value in values:
            our_query = bp.ClientCursor(ours).mogrify("select %s", [value])
            assert our_query == psycopg.ClientCursor(theirs).mogrify("select %s", [value])
            cur = bp.ClientCursor(ours)
            cur.execute("select extract(epoch from %s)", [value])
            assert cur.fetchone() == (Decimal(str(value.total_seconds())),)
    finally:
        for conn in (ours, theirs):
            conn.execute("set intervalstyle to 'postgres'")


@pytest.mark.both_modes
def test_standard_conforming_strings_off(conns: tuple[Any, Any]) -> None:
    ours, theirs = conns
    # (Not bytea inside arrays or records: psycopg's libpq escaping doubles its backslashes
    # once more with the setting off, and the server reads other bytes back.)
    values = ["a\\b", "it's", b"a\\'\x00", ["x\\y"], ("q\\", "it's")]
    for conn in (ours, theirs):
        conn.execute("set standard_conforming_strings to off")
    try:
        for value in values:
            our_query = bp.ClientCursor(ours).mogrify("select %s", [value])
            assert our_query == psycopg.ClientCursor(theirs).mogrify("select %s", [value])
            if isinstance(value, str | bytes):  # (the others have no type without a cast)
                cur = bp.ClientCursor(ours)
                cur.execute("select %s", [value])
                assert cur.fetchone() == (value,)
    finally:
        for conn in (ours, theirs):
            conn.execute("set standard_conforming_strings to on")


def test_json_dumps_is_used(conns: tuple[Any, Any]) -> None:
    value = {"k": [1, "é"]}
    for dumps in (None, lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":"))):
        ours = our_sql.Literal(our_json.Jsonb(value, dumps=dumps)).as_string(conns[0])
        theirs = ref_sql.Literal(ref_json.Jsonb(value, dumps=dumps)).as_string(conns[1])
        assert ours == theirs
