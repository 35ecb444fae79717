"""cursor.stream(): rows arrive in batches while the server sends them (crates/balrog-pg/src/stream.rs),
compared with psycopg; memory stays flat; closing the generator early keeps the connection."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp
from support.proc import status_field

pytestmark = pytest.mark.both_modes


def _rss_kb() -> int:
    return status_field("VmRSS")


def _outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except Exception as ex:
        return ("raised", type(ex).__name__)


QUERIES = [
    ("select g, 'x' || g, g * 1.5 from generate_series(1, 3000) g", None, 1),
    ("select g from generate_series(1, %s) g", [50], 7),
    ("select 1 where false", None, 1),
    ("select %s::text, %s::int", ["a", 3], 1),
    ("select 1/(g - 50) from generate_series(1, 100) g", None, 10),
    ("select 1/(g - 50) from generate_series(1, 100) g", None, 1),
    ("select 1/(g - 50) from generate_series(1, 100) g", None, 7),
    ("select 1/(g - 3000) from generate_series(1, 5000) g", None, 1),
    ("create temp table if not exists s (x int)", None, 1),
    ("select nosuchcolumn", None, 1),
]


@pytest.mark.parametrize("query,params,size", QUERIES)
def test_stream_same_as_psycopg(pg_cluster, query, params, size):
    def run(mod: Any) -> Any:
        with mod.connect(pg_cluster.conninfo) as conn:
            cur = conn.cursor()
            got: list[Any] = []

            def consume() -> Any:
                for row in cur.stream(query, params, size=size):
                    got.append(row)
                return len(got)

            outcome = _outcome(consume)
            status = conn.info.transaction_status.name
            return outcome, got, status, _outcome(lambda: conn.execute("select 42").fetchone())

    # An error mid-result: the rows before it too, as psycopg yields them (whole chunks of
    # `size` rows; in single-row mode every row).
    assert run(bp) == run(psycopg)


def test_stream_row_factory_and_description(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        cur = conn.cursor(row_factory=bp.rows.dict_row)
        rows = list(cur.stream("select g as n from generate_series(1, 3) g"))
        assert rows == [{"n": 1}, {"n": 2}, {"n": 3}]
        assert cur.description is not None and cur.description[0].name == "n"


def test_stream_is_incremental_and_busy(pg_cluster):
    """The first row is yielded while the rest is still owed: the connection is ACTIVE."""
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        gen = conn.cursor().stream("select g from generate_series(1, 2000000) g")
        assert next(gen) == (1,)
        assert conn.info.transaction_status == bp.pq.TransactionStatus.ACTIVE
        gen.close()
        assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
        assert conn.execute("select 'after'").fetchone() == ("after",)


@pytest.mark.parametrize("autocommit", [True, False])
def test_early_break_keeps_connection(pg_cluster, autocommit):
    with bp.connect(pg_cluster.conninfo, autocommit=autocommit) as conn:
        cur = conn.cursor()
        for row in cur.stream("select g from generate_series(1, 5000000) g"):
            if row[0] == 100:
                break
        assert not conn.closed and not conn.broken
        status = conn.info.transaction_status
        assert status in (
            bp.pq.TransactionStatus.IDLE,
            bp.pq.TransactionStatus.INERROR,
            bp.pq.TransactionStatus.INTRANS,
        )
        conn.rollback()
        assert conn.execute("select 7").fetchone() == (7,)
        # A short result already complete when the loop stops: nothing to cancel.
        for _row in cur.stream("select 1 union all select 2"):
            break
        assert conn.execute("select 8").fetchone() == (8,)


def test_stream_million_rows_memory(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        cur = conn.cursor()
        # Warm up (allocator pools, decoders), then measure.
        for _ in cur.stream("select g, repeat('x', 40) from generate_series(1, 20000) g"):
            pass
        before = _rss_kb()
        count = 0
        total = 0
        for n, _text in cur.stream("select g, repeat('x', 40) from generate_series(1, 1000000) g"):
            count += 1
            total += n
        growth_mb = (_rss_kb() - before) / 1024
        assert count == 1_000_000 and total == 1_000_000 * 1_000_001 // 2
        assert growth_mb < 50, growth_mb


def test_stream_in_pipeline_refused(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn, conn.pipeline():
        with pytest.raises(bp.ProgrammingError):
            next(conn.cursor().stream("select 1"))


def _stream_variants(lib: Any, conninfo: str) -> list[Any]:
    from_rows = __import__(f"{lib.__name__}.rows", fromlist=["dict_row"])
    seen: list[Any] = []
    with lib.connect(conninfo) as conn:
        client = lib.ClientCursor(conn)
        seen.append(list(client.stream("select %s, %s", [1, "a'b"])))
        seen.append(list(client.stream("select generate_series(1, %s)", [3], size=2)))
        try:
            list(client.stream("select 1; select 2"))
        except lib.Error as exc:
            seen.append((type(exc).__name__, str(exc)))
            conn.rollback()
        cur = conn.cursor(row_factory=from_rows.dict_row)
        rows = cur.stream("select generate_series(1, 3) as a", size=5)
        seen.append(next(rows))
        cur.row_factory = from_rows.namedtuple_row
        seen.append(tuple(next(rows)))
        seen.append([tuple(r) for r in rows])
    for size in (1, 10):
        conn = lib.connect(conninfo)
        try:
            for row in conn.cursor().stream("select generate_series(1, 3)", size=size):
                seen.append(row)
                conn.close()
        except lib.OperationalError as exc:
            seen.append(("closed", str(exc), conn.closed))
    return seen


def test_stream_variants_like_psycopg(pg_cluster):
    assert _stream_variants(bp, pg_cluster.conninfo) == _stream_variants(psycopg, pg_cluster.conninfo)


def _pgresult_while_streaming(lib: Any, conninfo: str) -> list[Any]:
    out: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        for binary, size in ((False, 1), (True, 1), (False, 3)):
            cur = conn.cursor()
            seen = []
            for row in cur.stream("select x::int4 from generate_series(1, 7) x", binary=binary, size=size):
                res = cur.pgresult
                seen.append((row, res.fformat(0), res.get_value(0, 0), res.ntuples if size == 1 else None))
            out.append(seen)
    return out


def test_pgresult_while_streaming_like_psycopg(pg_cluster):
    # cursor.pgresult inside the loop is the chunk the current row came in (one row with
    # the default size). With a larger size, how many rows a chunk holds depends on how
    # they arrive, so only its first value is compared.
    ours = _pgresult_while_streaming(bp, pg_cluster.conninfo)
    assert ours == _pgresult_while_streaming(psycopg, pg_cluster.conninfo)
