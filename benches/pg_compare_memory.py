"""Memory case of benches/pg_compare.py: RSS growth while iterating a server-side cursor.

Runs in a fresh process per driver, so allocations of other cases (freed arenas the
allocator would reuse, caches) neither hide nor inflate this driver's growth.

Usage: python benches/pg_compare_memory.py {psycopg|balrog-blocking|balrog-green} CONNINFO ROWS
Prints one JSON object: rss growth (MB, peak minus after-connect) and µs per row.
"""

from __future__ import annotations

import json
import os
import sys
import time
from types import ModuleType
from typing import Any

QUERY = (
    "SELECT i, 'row number ' || i, i * 0.5, '2024-01-01'::timestamptz + i * interval '1 second'"
    " FROM generate_series(1, %s) AS i"
)
SAMPLE_EVERY = 10_000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def iterate(mod: ModuleType, conninfo: str, rows: int) -> dict[str, Any]:
    # Not autocommit: a named cursor without WITH HOLD lives in a transaction.
    conn = mod.connect(conninfo)
    try:
        warm = conn.cursor()
        warm.execute("SELECT 1")
        warm.fetchall()
        base = peak = rss_bytes()
        cur = conn.cursor("pgcmp_mem")
        start = time.perf_counter()
        cur.execute(QUERY, (rows,))
        seen = 0
        for _row in cur:
            seen += 1
            if seen % SAMPLE_EVERY == 0:
                peak = max(peak, rss_bytes())
        elapsed = time.perf_counter() - start
        peak = max(peak, rss_bytes())
        cur.close()
        conn.rollback()
    finally:
        conn.close()
    if seen != rows:
        raise AssertionError(f"iterated {seen} rows, expected {rows}")
    return {
        "rss_growth_mb": (peak - base) / 2**20,
        "us_per_row": elapsed / rows * 1e6,
        "itersize": cur.itersize,
    }


def main() -> None:
    driver, conninfo, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if driver == "psycopg":
        import psycopg

        result = iterate(psycopg, conninfo, rows)
    else:
        import balrog
        import balrog.psycopg

        if driver == "balrog-green":
            result = balrog.run(iterate, balrog.psycopg, conninfo, rows)
        else:
            result = iterate(balrog.psycopg, conninfo, rows)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
