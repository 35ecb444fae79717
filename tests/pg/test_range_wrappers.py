"""Range and multirange wrapper classes (``Int4Range`` ... ``TimestamptzMultirange``), their
dumpers and loaders, binary (``%b``) ranges and multiranges, and COPY of them: differential
with psycopg 3.3 on the same server.
"""

from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal
from typing import Any

import psycopg
import psycopg.types.multirange as pmr
import psycopg.types.range as prange
import pytest

import balrog.psycopg as bp
import balrog.psycopg.types.multirange as bmr
import balrog.psycopg.types.range as brange

pytestmark = pytest.mark.both_modes

WRAPPERS = ["Int4", "Int8", "Numeric", "Date", "Timestamp", "Timestamptz"]
PLUS_5 = dt.timezone(dt.timedelta(hours=5))
NAIVE = dt.datetime(2020, 1, 1, 12)
AWARE = dt.datetime(2020, 1, 1, 12, tzinfo=PLUS_5)
BOUNDS: dict[str, tuple[Any, Any]] = {
    "Int4": (1, 10),
    "Int8": (-(2**40), 2**40),
    "Numeric": (Decimal("1.5"), 7),
    "Date": (dt.date(2020, 1, 1), dt.date(2021, 6, 30)),
    "Timestamp": (NAIVE, AWARE + dt.timedelta(days=1)),  # an aware bound loses its zone
    "Timestamptz": (AWARE, NAIVE + dt.timedelta(days=1)),  # a naive one takes the session's
}


def _public_names(module: Any) -> set[str]:
    return {n for n in dir(module) if ("Range" in n or "Multirange" in n) and not n.startswith("_")}


def test_module_names_like_psycopg():
    assert _public_names(prange) - _public_names(brange) == set()
    assert _public_names(pmr) - _public_names(bmr) == set()
    for module, ref in ((brange, prange), (bmr, pmr)):
        for name in _public_names(ref):
            theirs = getattr(ref, name)
            if isinstance(theirs, type) and name.endswith("Dumper"):
                ours = getattr(module, name)
                assert (ours.oid, ours.format) == (theirs.oid, theirs.format), name


def test_wrapper_objects():
    mr = bmr.Int4Multirange([brange.Range(1, 3)])
    assert repr(mr) == repr(pmr.Int4Multirange([prange.Range(1, 3)]))
    assert isinstance(mr, bmr.Multirange)
    again = pickle.loads(pickle.dumps(mr))
    assert type(again) is bmr.Int4Multirange and again == mr
    with pytest.raises(TypeError, match="can only assign an iterable"):
        mr[0:1] = brange.Range(1, 2)  # type: ignore[call-overload]
    mr[0:1] = [brange.Range(4, 5)]
    assert mr == bmr.Multirange([brange.Range(4, 5)])


def _values(rmod: Any, mmod: Any) -> list[Any]:
    Range, Multirange = rmod.Range, mmod.Multirange
    out: list[Any] = []
    for name in WRAPPERS:
        rcls, mcls = getattr(rmod, f"{name}Range"), getattr(mmod, f"{name}Multirange")
        lo, hi = BOUNDS[name]
        out += [
            rcls(),
            rcls(empty=True),
            rcls(lo, hi),
            rcls(lo, None, "[]"),
            [rcls(lo, hi), rcls(empty=True)],
            mcls(),
            mcls([Range(lo, hi)]),
            mcls([Range(None, lo), Range(hi, None, "(]")]),
            [mcls(), mcls([Range(bounds="()")])],
        ]
        if name != "Int4":  # generic ones: a plain int goes as text, the server picks int4/int8
            if name == "Numeric":
                # psycopg dumps a generic one's bounds by the first bound's type: in binary,
                # an int after a Decimal fails there (balrog's numeric dumper takes both).
                hi = Decimal(hi)
            out += [Multirange([Range(lo, hi)]), Range(lo, hi)]
    out += [
        Multirange(),
        Multirange([Range(1, 5), Range(7, 9)]),
        Multirange([Range(empty=True)]),
        Multirange([Range("a", "b")]),
        Multirange([Range(bounds="()")]),
        Range(empty=True),
    ]
    return out


def _outcome(conn: Any, query: str, params: Any) -> Any:
    try:
        return repr(conn.execute(query, params).fetchone())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc).split("\n")[0])


def _params(lib: Any, rmod: Any, mmod: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("set timezone to 'Europe/Rome'")
        return [
            _outcome(conn, f"select %{f}::text, pg_typeof(%{f})::text", [value, value])
            for value in _values(rmod, mmod)
            for f in "stb"
        ]


def test_params_like_psycopg(pg_cluster):
    got = _params(bp, brange, bmr, pg_cluster.conninfo)
    want = _params(psycopg, prange, pmr, pg_cluster.conninfo)
    values = _values(prange, pmr)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, (values[i // 3], "stb"[i % 3])


def _compare_to_literal(lib: Any, rmod: Any, mmod: Any, conninfo: str) -> list[Any]:
    # Untyped values (empty generic ones) take the type of what they are compared to.
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        for pgtype in ("int4", "int8", "num", "date", "ts", "tstz"):
            for f in "stb":
                seen.append(_outcome(conn, f"select '{{}}'::{pgtype}multirange = %{f}", [mmod.Multirange()]))
                seen.append(_outcome(conn, f"select 'empty'::{pgtype}range = %{f}", [rmod.Range(empty=True)]))
    return seen


def test_untyped_empty_like_psycopg(pg_cluster):
    got = _compare_to_literal(bp, brange, bmr, pg_cluster.conninfo)
    assert got == _compare_to_literal(psycopg, prange, pmr, pg_cluster.conninfo)
    assert all(item == "(True,)" for item in got), got


def _literals(lib: Any, rmod: Any, mmod: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        cur = lib.ClientCursor(conn)
        out = []
        for value in _values(rmod, mmod):
            try:
                out.append(cur.mogrify("select %s", [value]))
            except Exception as exc:
                out.append(("error", type(exc).__name__, str(exc)))
        return out


def test_client_side_literals_like_psycopg(pg_cluster):
    got = _literals(bp, brange, bmr, pg_cluster.conninfo)
    assert got == _literals(psycopg, prange, pmr, pg_cluster.conninfo)


COPY_TYPES = ["int4range", "tsrange", "tstzrange", "int4multirange", "nummultirange", "tstzmultirange"]


def _copy_rows(rmod: Any, mmod: Any) -> list[list[Any]]:
    Range, Multirange = rmod.Range, mmod.Multirange
    return [
        [Range(1, 5), Range(NAIVE, None), Range(AWARE, None), Multirange([Range(1, 3), Range(5, 9)]),
         Multirange([Range(Decimal("0.5"), 2)]), Multirange([Range(NAIVE, AWARE + dt.timedelta(days=1))])],
        [rmod.Int4Range(), rmod.TimestampRange(empty=True), rmod.TimestamptzRange(), mmod.Int4Multirange(),
         mmod.NumericMultirange(), mmod.TimestamptzMultirange()],
        [Range(empty=True), Range(None, AWARE), Range(None, NAIVE), Multirange(), Multirange(),
         Multirange([Range(empty=True)])],
    ]  # fmt: skip


def _wrapper_row(rmod: Any, mmod: Any) -> list[Any]:
    # Without set_types the wrappers still name their types: binary COPY works.
    return [
        rmod.Int4Range(1, 5),
        rmod.TimestampRange(NAIVE, None),
        rmod.TimestamptzRange(AWARE, None),
        mmod.Int4Multirange([rmod.Range(1, 2)]),
        mmod.NumericMultirange([rmod.Range(Decimal(1), None)]),
        mmod.TimestamptzMultirange(),
    ]


def _copy(lib: Any, rmod: Any, mmod: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("set timezone to 'Europe/Rome'")
        cols = ", ".join(f"c{i} {t}" for i, t in enumerate(COPY_TYPES))
        conn.execute(f"create temporary table range_copy (id serial, {cols})")
        names = ", ".join(f"c{i}" for i in range(len(COPY_TYPES)))
        for fmt in ("text", "binary"):
            for set_types in (False, True):
                conn.execute("truncate range_copy")
                try:
                    with conn.cursor().copy(f"copy range_copy ({names}) from stdin (format {fmt})") as copy:
                        if set_types:
                            copy.set_types(COPY_TYPES)
                            for row in _copy_rows(rmod, mmod):
                                copy.write_row(row)
                        copy.write_row(_wrapper_row(rmod, mmod))
                    texts = ", ".join(f"c{i}::text" for i in range(len(COPY_TYPES)))
                    seen.append(conn.execute(f"select {texts} from range_copy order by id").fetchall())
                except Exception as exc:
                    seen.append(("error", fmt, set_types, type(exc).__name__, str(exc)))
    return seen


def test_copy_like_psycopg(pg_cluster):
    got = _copy(bp, brange, bmr, pg_cluster.conninfo)
    assert got == _copy(psycopg, prange, pmr, pg_cluster.conninfo)
    assert not any(isinstance(item, tuple) for item in got), got


def _copy_out(lib: Any, mmod: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        cur = conn.cursor()
        query = "copy (select '{[1,3), [5,8)}'::int4multirange, '{}'::datemultirange) to stdout"
        # Text only: balrog's binary COPY TO decodes only the scalar types and their arrays.
        with cur.copy(f"{query} (format text)") as copy:
            copy.set_types(["int4multirange", "datemultirange"])
            return [repr(row) for row in copy.rows()]


def test_copy_out_like_psycopg(pg_cluster):
    assert _copy_out(bp, bmr, pg_cluster.conninfo) == _copy_out(psycopg, pmr, pg_cluster.conninfo)
