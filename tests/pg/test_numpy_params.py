"""numpy scalars as query parameters, differential with psycopg 3.3.

The PostgreSQL type comes from the numpy type (``int8`` → int2, ``uint32`` → int8, ``uint64``
→ numeric, ``float16``/``float32`` → float4 ...) with ``%s``, ``%t`` and ``%b``, in client-side
literals, in lists, and in COPY with or without ``set_types``. The dumpers are registered by
dotted name: importing the driver must not import numpy.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

np = pytest.importorskip("numpy")

pytestmark = pytest.mark.both_modes

VALUES: list[Any] = [
    np.int8(-128), np.int8(127), np.int16(-32768), np.int32(-(2**31)), np.int32(0), np.int64(2**63 - 1),
    np.longlong(-(2**63)), np.uint8(255), np.uint16(65535), np.uint32(2**32 - 1), np.uint64(0),
    np.uint64(2**64 - 1), np.ulonglong(2**64 - 1),
    np.float16(3.14), np.float16(4e4), np.float32(2.7182817), np.float32(-0.1), np.float32("nan"),
    np.float64(256e-12), np.float64(-0.0), np.float64("inf"), np.float64("-inf"),
    np.bool_(True), np.bool_(False),
    [np.int16(1), None, np.int16(-2)], [[np.int64(1)], [np.int64(2)]], [np.float32(1.5)], [np.bool_(False)],
    [np.uint64(7)],
]  # fmt: skip


def _outcome(conn: Any, query: str, params: Any) -> Any:
    try:
        return repr(conn.execute(query, params).fetchone())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def test_import_does_not_import_numpy():
    code = "import sys, balrog.psycopg; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dumpers_found_by_name():
    for fmt in (bp.adapt.PyFormat.TEXT, bp.adapt.PyFormat.BINARY):
        assert bp.adapters.get_dumper(np.uint16, fmt).oid == 23
        assert bp.adapters.get_dumper(np.float16, fmt).oid == 700
        assert bp.adapters.get_dumper(np.bool_, fmt).oid == 16


def _params(lib: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        return [
            _outcome(conn, f"select %{f}, pg_typeof(%{f})::text, %{f}::text", [value] * 3)
            for value in VALUES
            for f in "stb"
        ]


def test_params_like_psycopg(pg_cluster):
    got, want = _params(bp, pg_cluster.conninfo), _params(psycopg, pg_cluster.conninfo)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, (VALUES[i // 3], "stb"[i % 3])


def _literals(lib: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        cur = lib.ClientCursor(conn)
        return [cur.mogrify("select 1-%s", [value]) for value in VALUES]


def test_client_side_literals_like_psycopg(pg_cluster):
    assert _literals(bp, pg_cluster.conninfo) == _literals(psycopg, pg_cluster.conninfo)


COPY_TYPES = ["int2", "int4", "int8", "numeric", "float4", "float8", "bool"]
COPY_ROWS = [
    [np.int8(-5), np.uint16(65535), np.uint32(2**32 - 1), np.uint64(2**64 - 1), np.float32(0.25),
     np.float64(-1.5), np.bool_(True)],
    [np.uint8(200), np.int32(-7), np.longlong(-(2**63)), np.ulonglong(3), np.float16(0.5), np.float64("inf"),
     np.bool_(False)],
]  # fmt: skip
# Plain values still go through the builtin dumpers of the types named by set_types (the
# numpy dumpers register the same oids first and must not take their place).
PLAIN_ROW = [3, 4, 5, Decimal("1.25"), 1.5, 2.5, True]


def _copy(lib: Any, conninfo: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        cols = ", ".join(f"c{i} {t}" for i, t in enumerate(COPY_TYPES))
        conn.execute(f"create temporary table np_copy ({cols})")
        for fmt in ("text", "binary"):
            for set_types in (False, True):
                conn.execute("truncate np_copy")
                try:
                    with conn.cursor().copy(f"copy np_copy from stdin (format {fmt})") as copy:
                        if set_types:
                            copy.set_types(COPY_TYPES)
                        for row in COPY_ROWS:
                            copy.write_row(row)
                        if set_types:
                            copy.write_row(PLAIN_ROW)
                    seen.append(conn.execute("select * from np_copy order by c1").fetchall())
                except Exception as exc:
                    seen.append(("error", fmt, set_types, type(exc).__name__, str(exc)))
    return seen


def test_copy_like_psycopg(pg_cluster):
    got, want = _copy(bp, pg_cluster.conninfo), _copy(psycopg, pg_cluster.conninfo)
    assert got == want
    assert not any(isinstance(item, tuple) for item in got), got


def _executemany(lib: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("create temporary table np_many (a int8, b float8, c bool)")
        conn.cursor().executemany(
            "insert into np_many values (%s, %b, %t)",
            [(np.int32(i), np.float64(i / 2), np.bool_(i % 2)) for i in range(5)],
        )
        return conn.execute("select * from np_many order by a").fetchall()


def test_executemany_like_psycopg(pg_cluster):
    assert _executemany(bp, pg_cluster.conninfo) == _executemany(psycopg, pg_cluster.conninfo)
