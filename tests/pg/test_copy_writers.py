"""COPY writers (``psycopg.copy``'s Writer, LibpqWriter, QueuedLibpqWriter, FileWriter),
compared with psycopg byte for byte.

``Copy(cursor, writer=FileWriter(f))`` formats rows into a file without any COPY statement;
``cursor.copy(..., writer=...)`` sends through the given writer (a LibpqWriter subclass sees
every chunk); binary data written whole with ``write()`` gets no second trailer.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import psycopg
import psycopg.copy
import pytest

import balrog.psycopg as bp
import balrog.psycopg.copy as bcopy

pytestmark = pytest.mark.both_modes

ROWS = [
    (1, "a\tb\n", None, Decimal("1.5"), dt.date(2020, 1, 2)),
    (2, "ü'\\", 2.5, None, None),
    (3, "", -0.0, Decimal("-1e-20"), dt.date(1, 1, 1)),
]
TYPES = ["int4", "text", "float8", "numeric", "date"]


def _writers(lib: Any, copymod: Any, conninfo: str) -> list[Any]:
    out: list[Any] = []
    with lib.connect(conninfo) as conn:
        cur = conn.cursor()
        for binary in (False, True):
            f = io.BytesIO()
            with copymod.Copy(cur, binary=binary, writer=copymod.FileWriter(f)) as copy:
                if binary:
                    copy.set_types(TYPES)
                for row in ROWS:
                    copy.write_row(row)
            out.append(f.getvalue())
        conn.execute("create temp table cw (a int4, b text, c float8, d numeric, e date)")
        for writer_class in (copymod.LibpqWriter, copymod.QueuedLibpqWriter):
            with cur.copy("copy cw from stdin", writer=writer_class(cur)) as copy:
                for row in ROWS:
                    copy.write_row(row)
            out.append(cur.rowcount)

        class Counting(copymod.LibpqWriter):
            seen = 0

            def write(self, data: Any) -> None:
                self.seen += len(data)
                super().write(data)

        counting = Counting(cur)
        with cur.copy("copy cw from stdin (format binary)", writer=counting) as copy:
            copy.set_types(TYPES)
            for row in ROWS:
                copy.write_row(row)
        out.append((counting.seen, cur.rowcount))
        # What the FileWriter produced loads back, text and binary (written whole).
        with cur.copy("copy cw from stdin") as copy:
            copy.write(out[0])
        with cur.copy("copy cw from stdin (format binary)") as copy:
            copy.write(out[1])
        out.append(cur.execute("select * from cw order by a, b").fetchall())
        try:
            with cur.copy("copy cw from stdin", writer=Counting(cur)) as copy:
                copy.write_row(ROWS[0])
                raise ZeroDivisionError("boom")
        except ZeroDivisionError:
            out.append(("after error", conn.info.transaction_status.name))
    return out


def test_copy_writers_like_psycopg(pg_cluster):
    want = _writers(psycopg, psycopg.copy, pg_cluster.conninfo)
    assert _writers(bp, bcopy, pg_cluster.conninfo) == want


def test_custom_writer_gets_every_byte(pg_cluster):
    class Collect(bcopy.Writer):
        def __init__(self) -> None:
            self.chunks: list[bytes] = []
            self.finished: list[Any] = []

        def write(self, data: Any) -> None:
            self.chunks.append(bytes(data))

        def finish(self, exc: BaseException | None = None) -> None:
            self.finished.append(exc)

    with bp.connect(pg_cluster.conninfo) as conn:
        writer = Collect()
        with bcopy.Copy(conn.cursor(), writer=writer) as copy:
            for i in range(20000):
                copy.write_row((i, "x" * 10))
        data = b"".join(writer.chunks)
        assert len(writer.chunks) > 1  # flushed as it grows, not held whole
        assert data.count(b"\n") == 20000 and data.startswith(b"0\txxxxxxxxxx\n")
        assert writer.finished == [None]
