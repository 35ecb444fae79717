"""Property-based differential test of parameter adaptation: generated Python values (ints
of every size, floats with NaN/inf/-0.0, Decimals, text, bytes, dates, times, aware and
naive datetimes, intervals, UUIDs, network addresses, Jsonb documents, arrays of each,
nested and with NULLs) sent as ``SELECT %s`` (auto, ``%t`` and ``%b`` placeholders) with
``Cursor`` (text and binary results) and ``ClientCursor`` must come back from the server
exactly as psycopg gets them — same type and value — or fail with the same exception
class.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb as RefJsonb

import balrog.psycopg as bp
from balrog.psycopg.types.json import Jsonb

pytestmark = pytest.mark.both_modes

INT = st.one_of(
    st.integers(-(2**15), 2**15 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(10**40), 10**40),
)
FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
DECIMAL = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: abs(d.adjusted()) < 1000
    ),
    st.sampled_from(
        [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("-0"), Decimal("1E+5")]
    ),
)
TEXT = st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=10)
DATE = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
OFFSET = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
TIME = st.one_of(st.times(), st.times(timezones=OFFSET))
DATETIME = st.one_of(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=OFFSET),
)
INTERVAL = st.timedeltas(min_value=dt.timedelta(days=-(10**6)), max_value=dt.timedelta(days=10**6))
# One kind per strategy: an array mixing addresses and interfaces is dumped by psycopg's
# binary dumper of the first item for all of them (losing prefixes, or AttributeError).
ADDRESS = st.ip_addresses()
INTERFACE = st.ip_addresses(v=4).map(lambda a: ipaddress.ip_interface(f"{a}/24"))
NETWORK = st.ip_addresses(v=6).map(lambda a: ipaddress.ip_network(f"{a}/128"))
SCALARS: list[st.SearchStrategy[Any]] = [
    st.booleans(),
    INT,
    FLOAT,
    DECIMAL,
    TEXT,
    st.binary(max_size=10),
    DATE,
    TIME,
    DATETIME,
    INTERVAL,
    st.uuids(),
    ADDRESS,
    INTERFACE,
    NETWORK,
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def values(draw: Any) -> Any:
    kind = draw(st.sampled_from(["scalar"] * 4 + ["array"] * 3 + ["nested", "json", "null"]))
    if kind == "null":
        return None
    if kind == "json":
        return ("jsonb", draw(JSON))
    scalar = draw(st.sampled_from(SCALARS))
    if kind == "scalar":
        return draw(scalar)
    items = st.one_of(scalar, st.none()) if draw(st.booleans()) else scalar
    if kind == "array":
        return draw(st.lists(items, min_size=draw(st.sampled_from([0, 1, 1, 1])), max_size=4))
    width = draw(st.integers(1, 3))
    return draw(st.lists(st.lists(items, min_size=width, max_size=width), min_size=1, max_size=3))


def adapt(value: Any, jsonb: Any) -> Any:
    """Jsonb documents are marked for their own driver's wrapper."""
    if isinstance(value, tuple) and value and value[0] == "jsonb":
        return jsonb(value[1])
    return value


def shape(value: Any) -> Any:
    """A comparable picture of a loaded value: its type and its value (NaN is NaN)."""
    if isinstance(value, list):
        return ["list", [shape(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", sorted((key, shape(item)) for key, item in value.items())]
    if isinstance(value, float) and math.isnan(value):
        return ["float", "nan"]
    if isinstance(value, Decimal) and value.is_nan():
        return ["Decimal", "NaN"]
    if isinstance(value, (dt.datetime, dt.time)):
        return [type(value).__name__, repr(value), str(value.utcoffset())]
    return [type(value).__name__, repr(value)]


def fetch(
    mod: Any, conn: Any, cursor_class: Any, placeholder: str, value: Any, jsonb: Any, binary: bool = False
) -> Any:
    try:
        with conn.cursor() if cursor_class is None else cursor_class(conn) as cur:
            cur.execute(f"SELECT {placeholder}", [adapt(value, jsonb)], binary=binary or None)
            row = cur.fetchone()
            return ["ok", shape(row[0]), [d.type_code for d in cur.description]]
    except mod.Error as exc:
        return ["raised", type(exc).__name__]
    except (TypeError, ValueError, OverflowError) as exc:
        return ["raised", type(exc).__name__]


@pytest.fixture(scope="module")
def both(pg_cluster: Any) -> Iterator[tuple[Any, Any]]:
    with (
        bp.connect(pg_cluster.conninfo, autocommit=True) as conn,
        psycopg.connect(pg_cluster.conninfo, autocommit=True) as ref,
    ):
        for c in (conn, ref):
            c.execute("SET TimeZone TO 'Europe/Rome'")  # aware values come back in it
        yield conn, ref


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=values(),
    placeholder=st.sampled_from(["%s", "%t", "%b"]),
    client=st.booleans(),
)
def test_values_round_trip_as_psycopg(
    both: tuple[Any, Any], value: Any, placeholder: str, client: bool
) -> None:
    conn, ref = both
    if client and placeholder == "%b":
        placeholder = "%s"  # ClientCursor has no binary parameters (psycopg refuses %b there)
    ours = fetch(bp, conn, bp.ClientCursor if client else None, placeholder, value, Jsonb)
    theirs = fetch(psycopg, ref, psycopg.ClientCursor if client else None, placeholder, value, RefJsonb)
    assert ours == theirs
