"""``%s`` sends numbers and bools in binary, as psycopg does (its AUTO dumpers are the binary
ones for int, float, bool and the numeric wrappers); balrog-pg encodes them natively."""

from __future__ import annotations

import builtins
import math
from typing import Any

import psycopg
import pytest
from psycopg.adapt import PyFormat as RefFormat
from psycopg.types import numeric as ref_numeric

import balrog.psycopg as bp
from balrog.psycopg.adapt import PyFormat
from balrog.psycopg.types import numeric as our_numeric

WRAPPERS = ["Int2", "Int4", "Int8", "IntNumeric", "Oid", "Float4", "Float8"]


@pytest.mark.parametrize("name", ["int", "float", "bool", "str", "bytes", *WRAPPERS])
def test_auto_dumper_as_psycopg(name: str) -> None:
    ours_cls = getattr(our_numeric, name, None) or getattr(builtins, name)
    ref_cls = getattr(ref_numeric, name, None) or getattr(builtins, name)
    ours = bp.adapters.get_dumper(ours_cls, PyFormat.AUTO)
    ref = psycopg.adapters.get_dumper(ref_cls, RefFormat.AUTO)
    assert (ours.__name__, int(ours.format), ours.oid) == (ref.__name__, int(ref.format), ref.oid)


INTS = [0, 1, -1, 32767, 32768, -32768, -32769, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1]
INTS += [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 10**30, -(10**30)]
FLOATS = [0.0, -0.0, 1.5, -2.25, 1e300, -1e-300, 5e-324, math.inf, -math.inf, 1 / 3]


def _outcome(mod: Any, conn: Any, query: str, params: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        row = conn.execute(query, params).fetchone()
    except mod.Error as ex:
        conn.rollback()
        return type(ex).__name__, None
    return "ok", row


def _both(pg_cluster: Any, query: str, make_params: Any) -> tuple[Any, Any]:
    with bp.connect(pg_cluster.conninfo) as ours, psycopg.connect(pg_cluster.conninfo) as ref:
        got = _outcome(bp, ours, query, make_params(our_numeric))
        want = _outcome(psycopg, ref, query, make_params(ref_numeric))
    return got, want


@pytest.mark.parametrize("value", INTS)
def test_int_round_trip_and_type(pg_cluster, value: int) -> None:
    got, want = _both(pg_cluster, "select %s, pg_typeof(%s)::text, %s + 0", lambda m: (value, value, value))
    assert got == want
    assert got[1][0] == value


@pytest.mark.parametrize("value", FLOATS)
def test_float_round_trip(pg_cluster, value: float) -> None:
    got, want = _both(pg_cluster, "select %s, pg_typeof(%s)::text", lambda m: (value, value))
    assert got == want
    assert got[1][0] == value and math.copysign(1, got[1][0]) == math.copysign(1, value)


def test_float_nan(pg_cluster) -> None:
    with bp.connect(pg_cluster.conninfo) as conn:
        assert math.isnan(conn.execute("select %s", (math.nan,)).fetchone()[0])


@pytest.mark.parametrize("value", [True, False])
def test_bool(pg_cluster, value: bool) -> None:
    got, want = _both(pg_cluster, "select %s, pg_typeof(%s)::text, not %s", lambda m: (value, value, value))
    assert got == want == ("ok", (value, "boolean", not value))


def _fits(name: str, value: int) -> bool:
    bounds = {"Int2": 2**15, "Int4": 2**31, "Int8": 2**63}
    if name in bounds:
        return -bounds[name] <= value < bounds[name]
    if name == "Oid":
        return 0 <= value < 2**32
    return True  # IntNumeric, Float4, Float8


@pytest.mark.parametrize("name", WRAPPERS)
@pytest.mark.parametrize("value", [0, -1, 70_000, 2**40, -(2**40), 2**70])
def test_wrappers(pg_cluster, name: str, value: int) -> None:
    query = "select %s, pg_typeof(%s)::text"
    with bp.connect(pg_cluster.conninfo) as ours, psycopg.connect(pg_cluster.conninfo) as ref:
        wrapped = getattr(our_numeric, name)(value)
        got = _outcome(bp, ours, query, (wrapped, wrapped))
        if not _fits(name, value):
            # psycopg's C dumpers wrap around (Int2(70000) is sent as 4464) or raise
            # OverflowError; balrog refuses with DataError rather than write another number.
            assert got == ("DataError", None)
            return
        ref_wrapped = getattr(ref_numeric, name)(value)
        want = _outcome(psycopg, ref, query, (ref_wrapped, ref_wrapped))
    assert got == want


def test_float4_out_of_range(pg_cluster) -> None:
    # psycopg's C dumper narrows the double: 1e300 becomes infinity.
    with bp.connect(pg_cluster.conninfo) as ours, psycopg.connect(pg_cluster.conninfo) as ref:
        got = _outcome(bp, ours, "select %s", (our_numeric.Float4(1e300),))
        want = _outcome(psycopg, ref, "select %s", (ref_numeric.Float4(1e300),))
    assert got == want == ("ok", (math.inf,))


@pytest.mark.both_modes
def test_executemany_with_binary_numbers(pg_cluster) -> None:
    rows = [(i, i * 0.5, i % 2 == 0, 2**40 + i) for i in range(-5000, 5000)]
    with bp.connect(pg_cluster.conninfo) as conn:
        conn.execute("create temp table bn (a int4, b float8, c bool, d int8)")
        conn.cursor().executemany("insert into bn values (%s, %s, %s, %s)", rows)
        assert conn.execute("select a, b, c, d from bn order by a").fetchall() == rows
