"""balrog.psycopg.types.range/multirange against psycopg's, and the server's text forms."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types import multirange as ref_mr
from psycopg.types import range as ref

from balrog.psycopg import errors as e
from balrog.psycopg.types import multirange as mr
from balrog.psycopg.types import range as ours

bounds = st.sampled_from(["[)", "(]", "()", "[]"])
values = st.one_of(st.none(), st.integers(-5, 5))


def pair(lower: Any, upper: Any, bnds: str, empty: bool) -> tuple[Any, Any]:
    return ours.Range(lower, upper, bnds, empty), ref.Range(lower, upper, bnds, empty)


@settings(max_examples=400, deadline=None)
@given(values, values, bounds, st.booleans(), values, values, bounds, st.booleans(), st.integers(-6, 6))
def test_behaves_like_psycopg(
    l1: Any, u1: Any, b1: str, e1: bool, l2: Any, u2: Any, b2: str, e2: bool, x: int
) -> None:
    a, ra = pair(l1, u1, b1, e1)
    b, rb = pair(l2, u2, b2, e2)
    assert repr(a) == repr(ra) and str(a) == str(ra)
    for attr in ("lower", "upper", "bounds", "isempty", "lower_inf", "upper_inf", "lower_inc", "upper_inc"):
        assert getattr(a, attr) == getattr(ra, attr), attr
    assert bool(a) == bool(ra)
    assert (x in a) == (x in ra)
    assert hash(a) == hash(ra)
    for op in ("__eq__", "__lt__", "__le__", "__gt__", "__ge__"):
        try:
            expected = getattr(ra, op)(rb)
        except TypeError:
            with pytest.raises(TypeError):
                getattr(a, op)(b)
            continue
        assert getattr(a, op)(b) == expected, op


def test_identity_facts() -> None:
    assert ours.Range.__module__ == "psycopg.types.range"
    assert repr(ours.Range(1, 5, "[]")) == "Range(1, 5, '[]')"
    assert repr(ours.Range(empty=True)) == "Range(empty=True)"
    assert ours.Range(1, 5)._bounds == "[)"
    with pytest.raises(ValueError, match="bound flags not valid"):
        ours.Range(1, 2, "{}")
    assert ours.Range(1, 2) != ref.Range(1, 2)  # different classes, as psycopg vs psycopg2


@pytest.mark.parametrize(
    "value",
    [
        ours.Range(1, 5),
        ours.Range(empty=True),
        ours.Range(None, dt.date(2020, 1, 1), "(]"),
        ours.Int4Range(1, 2),
        ours.TimestamptzRange(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), None),
    ],
)
def test_pickle(value: Any) -> None:
    copy = pickle.loads(pickle.dumps(value))
    assert copy == value and type(copy) is type(value)
    assert repr(copy) == repr(value)


def test_multirange_pickle_and_behaviour() -> None:
    value = mr.Multirange([ours.Range(1, 3), ours.Range(5, 7)])
    assert pickle.loads(pickle.dumps(value)) == value
    reference = ref_mr.Multirange([ref.Range(1, 3), ref.Range(5, 7)])
    assert repr(value) == repr(reference) and str(value) == str(reference)
    with pytest.raises(TypeError):
        value.append(1)  # type: ignore[arg-type]
    value[0] = ours.Range(0, 1)
    assert value[0] == ours.Range(0, 1) and len(value) == 2
    assert isinstance(value[0:1], mr.Multirange)


# -- text forms against the server -------------------------------------------------------


@pytest.fixture(scope="module")
def conn(pg_cluster: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as connection:
        yield connection


SERVER_RANGES = [
    "int4range(1, 5)",
    "int4range(1, 5, '[]')",
    "int4range(null, 5)",
    "int4range(1, 1)",
    "numrange(1.5, null)",
    "daterange('2020-01-01', '2021-01-01')",
    "tsrange('2020-01-01 10:00', '2020-01-02')",
    "tstzrange('2020-01-01 10:00+02', null, '(]')",
    "int8range(-9223372036854775808, 9223372036854775807)",
]


@pytest.mark.parametrize("expr", SERVER_RANGES)
def test_load_server_text(conn: psycopg.Connection[Any], expr: str) -> None:
    text, expected = conn.execute(f"select ({expr})::text, {expr}").fetchone()  # type: ignore[misc]
    parsed, used = ours.load_range_text(text.encode(), lambda b: b.decode())
    assert used == len(text)
    assert parsed.isempty == expected.isempty and parsed.bounds == expected.bounds
    assert (parsed.lower is None) == (expected.lower is None)
    assert (parsed.upper is None) == (expected.upper is None)
    # and our dump of it is what the server reads back as the same range
    dumped = ours.dump_range_text(parsed, lambda s: s.encode())
    kind = expr.split("(")[0]
    assert conn.execute(f"select %s::{kind} = {expr}", [dumped.decode()]).fetchone() == (True,)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8))
def test_text_bounds_round_trip(bound: str) -> None:
    rng = ours.Range(bound, bound + "z", "[]")
    data = ours.dump_range_text(rng, lambda s: s.encode())
    parsed, used = ours.load_range_text(data, lambda b: b.decode())
    assert parsed == rng and used == len(data)


def test_quoted_and_escaped_bounds() -> None:
    parsed, _ = ours.load_range_text(b'["a""b","c\\\\d")', lambda b: b.decode())
    assert (parsed.lower, parsed.upper) == ('a"b', "c\\d")
    parsed, _ = ours.load_range_text(b'("",)', lambda b: b.decode())
    assert parsed.lower == "" and parsed.upper is None
    with pytest.raises(e.DataError):
        ours.load_range_text(b"[1,2", int)


def test_binary_form_round_trip() -> None:
    for rng in (ours.Range(1, 5), ours.Range(None, 3, "(]"), ours.Range(empty=True), ours.Range(None, None)):
        data = ours.dump_range_binary(rng, lambda v: str(v).encode())
        assert ours.load_range_binary(data, lambda b: int(bytes(b))) == rng


def test_multirange_text(conn: psycopg.Connection[Any]) -> None:
    (text,) = conn.execute("select '{[1,3), [5,7]}'::int4multirange::text").fetchone()  # type: ignore[misc]
    parsed = mr.load_multirange_text(text.encode(), lambda b: int(bytes(b)))
    assert parsed == mr.Multirange([ours.Range(1, 3), ours.Range(5, 8)])
    assert mr.load_multirange_text(b"{}", int) == mr.Multirange()
    assert mr.dump_multirange_text(parsed, lambda v: str(v).encode()) == b"{[1,3),[5,8)}"


def test_numeric_bounds_are_kept() -> None:
    parsed, _ = ours.load_range_text(b"[1.50,)", lambda b: Decimal(b.decode()))
    assert parsed.lower == Decimal("1.50") and str(parsed.lower) == "1.50"
