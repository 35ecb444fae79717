"""COPY FROM STDIN / TO STDOUT."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def test_copy_in_rows_and_out(pg_cluster):
    rows = [(i, f"text\t{i}\n\\", None if i % 3 else dt.date(2024, 1, i % 28 + 1)) for i in range(1, 2001)]
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("create temp table cp (id int, s text, d date)")
        cur = conn.cursor()
        with cur.copy("copy cp (id, s, d) from stdin") as copy:
            for row in rows:
                copy.write_row(row)
        assert cur.rowcount == 2000
        assert conn.execute("select id, s, d from cp order by id").fetchall() == rows
        with cur.copy("copy (select id, s, d from cp order by id) to stdout") as copy:
            copy.set_types(["int4", "text", "date"])
            assert list(copy.rows()) == rows
        with cur.copy("copy (select id from cp where id <= 3 order by id) to stdout") as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        assert data == b"1\n2\n3\n"
        assert conn.execute("select 1").fetchone() == (1,)


def test_copy_out_matches_psycopg(pg_cluster):
    q = "copy (select g, 'x y', now()::date, null from generate_series(1, 50) g) to stdout"
    with bp.connect(pg_cluster.conninfo) as conn, psycopg.connect(pg_cluster.conninfo) as ref:
        with conn.cursor().copy(q) as c1, ref.cursor().copy(q) as c2:
            assert list(c1.rows()) == list(c2.rows())


def test_copy_write_raw_and_errors(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("create temp table cw (id int primary key)")
        cur = conn.cursor()
        with cur.copy("copy cw from stdin") as copy:
            copy.write("1\n2\n")
            copy.write(b"3\n")
        assert conn.execute("select count(*) from cw").fetchone() == (3,)
        with pytest.raises(bp.errors.UniqueViolation), cur.copy("copy cw from stdin") as copy:
            copy.write_row([3])
        with pytest.raises(ZeroDivisionError), cur.copy("copy cw from stdin") as copy:
            copy.write_row([10])
            1 / 0  # noqa: B018
        assert conn.execute("select count(*) from cw").fetchone() == (3,)
        with pytest.raises(bp.ProgrammingError):
            cur.execute("copy cw from stdin")
        assert conn.execute("select 1").fetchone() == (1,)


def test_finished_copy_objects_are_collected(pg_cluster):
    """The native row buffer holds a bound method of its Copy (a reference cycle): the
    garbage collector must see through it, or every COPY would leak its buffer."""
    import gc
    import weakref

    with bp.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute("create temporary table cycle_t (a int4, b text)")
        refs = []
        for binary in (False, True):
            with conn.cursor() as cur:
                statement = "copy cycle_t from stdin" + (" (format binary)" if binary else "")
                with cur.copy(statement) as copy:
                    if binary:
                        copy.set_types(["int4", "text"])
                    copy.write_row((1, "x"))
                refs.append(weakref.ref(copy))
                del copy
        gc.collect()
        assert [ref() for ref in refs] == [None, None]
        assert conn.execute("select count(*) from cycle_t").fetchone() == (2,)
