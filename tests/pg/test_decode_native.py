"""The native row decoders against their references: the Rust JSON parser against
``json.loads`` (hypothesis-generated documents and edge cases), and large fetches
(which pause the cyclic GC while they build rows) against psycopg."""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import balrog.psycopg as bp
from balrog import _pg

UTC = dt.UTC


def _native(text: str | bytes, oid: int = 3802) -> Any:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return _pg.decode_value(oid, data, UTC)


def _same(got: Any, want: Any) -> None:
    """Identical as json.loads builds them: types, key order, float bits (-0.0, inf)."""
    assert type(got) is type(want), (got, want)
    if isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            assert type(key) is str
            _same(got[key], want[key])
    elif isinstance(want, list):
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            _same(a, b)
    elif isinstance(want, float):
        assert math.copysign(1.0, got) == math.copysign(1.0, want)
        assert got == want or (math.isnan(got) and math.isnan(want))
    else:
        assert got == want


def _check(text: str) -> None:
    try:
        want = json.loads(text)
    except (ValueError, RecursionError) as ex:
        for oid in (114, 3802):
            with pytest.raises(type(ex)):
                _native(text, oid)
        return
    for oid in (114, 3802):
        _same(_native(text, oid), want)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _json,
    st.booleans(),
    st.sampled_from([None, 0, 2]),
    st.sampled_from([(", ", ": "), (",", ":"), (" ,\n", " :\t")]),
)
def test_generated_documents_match_json_loads(obj: Any, ascii_only: bool, indent: Any, seps: Any) -> None:
    _check(json.dumps(obj, ensure_ascii=ascii_only, indent=indent, separators=seps))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('{}[],:"\\ -+.eE0123456789tfnu')))
def test_arbitrary_text_matches_json_loads(text: str) -> None:
    _check(text)


EDGE_CASES = [
    "1e400",
    "-1e400",
    "-0.0",
    "-0",
    "0",
    "1.0",
    "1E+2",
    "1e-400",
    "0.1000000000000000055511151231257827",
    "123456789012345678901234567890",
    "-" + "9" * 4300,  # the int digit limit: json.loads raises ValueError
    "9" * 4301,
    "[" * 600 + "]" * 600,  # deeper than the native parser goes: json.loads decides
    "[" * 100 + "1" + "]" * 100,
    '{"a": 1, "b": 2, "a": 3}',
    '{"a": {"x": 1}, "a": [2]}',
    '"\\u00e9\\u20ac\\ud83d\\ude00"',
    '"\\ud800"',  # lone surrogates: json.loads keeps them
    '"\\udc00x"',
    '"\\ud800\\u0041"',
    '"\\u0000"',
    '"tab\there"',  # raw control character: an error
    '"\\x"',
    "NaN",
    "[Infinity, -Infinity]",
    "01",
    "1.",
    ".5",
    "-",
    "tru",
    "nulll",
    "[1,]",
    '{"a":1,}',
    "[1 2]",
    "",
    "   ",
    " \t\n\r[1] \r\n",
    "[1]x",
    '{"\\u00e9": "\\/"}',
    '{"k": "' + "long value " * 50 + '"}',
    '{"' + "k" * 40 + '": 1, "' + "k" * 40 + '": 2}',
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_match_json_loads(text: str) -> None:
    _check(text)


def test_repeated_keys_in_one_fetch_share_nothing_observable() -> None:
    # The key cache returns the same str objects across values: still equal keys, and
    # dicts stay independent.
    rows = [_native(f'{{"id": {i}, "name": "n{i}"}}') for i in range(3)]
    assert rows == [{"id": i, "name": f"n{i}"} for i in range(3)]
    rows[0]["id"] = -1
    assert rows[1]["id"] == 1


def test_invalid_utf8_is_data_error() -> None:
    with pytest.raises(bp.errors.DataError):
        _native(b'{"a": "\xff"}')


# -- large fetches: the GC pause and the row builder ------------------------------------------


FETCH_SQL = (
    "select i, 'row ' || i, i * 0.5, '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 second',"
    " (i * 1.25)::numeric(12, 2), i %% 2 = 0, case when i %% 7 = 0 then null else"
    " jsonb_build_object('id', i, 'name', 'item ' || i, 'tags', jsonb_build_array('a', i), 'ok', true) end"
    " from generate_series(1, %s) as i"
)


@pytest.mark.both_modes
@pytest.mark.parametrize("gc_on", [True, False])
def test_large_fetch_matches_psycopg_and_keeps_gc_state(pg_cluster, gc_on):
    was = gc.isenabled()
    try:
        if not gc_on:
            gc.disable()
        with bp.connect(pg_cluster.conninfo) as conn, psycopg.connect(pg_cluster.conninfo) as ref:
            got = conn.execute(FETCH_SQL, (3000,)).fetchall()
            assert gc.isenabled() is gc_on
            want = ref.execute(FETCH_SQL, (3000,)).fetchall()
            assert got == want
            assert repr(got[:20]) == repr(want[:20])
            assert isinstance(got[5][4], Decimal) and got[6][6] is None
            cur = conn.execute(FETCH_SQL, (500,))
            assert [row for row in cur] == want[:500]
            assert gc.isenabled() is gc_on
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


@pytest.mark.both_modes
def test_large_fetch_error_half_way_keeps_gc_enabled(pg_cluster):
    with bp.connect(pg_cluster.conninfo) as conn:
        cur = conn.cursor()

        class Boom(Exception):
            pass

        calls = [0]

        def load(data: Any) -> Any:
            calls[0] += 1
            if calls[0] == 150:
                raise Boom()
            return bytes(data).decode()

        class L(bp.adapt.Loader):
            def load(self, data: Any) -> Any:
                return load(data)

        cur.adapters.register_loader("text", L)
        cur.execute("select 'x' || i from generate_series(1, 300) as i")
        with pytest.raises(Boom):
            cur.fetchall()
        assert gc.isenabled()
