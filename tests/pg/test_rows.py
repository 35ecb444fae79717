"""balrog.psycopg.rows against psycopg.rows, both fed by real psycopg cursors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg.rows as ref
import pytest

from balrog.psycopg import errors as e
from balrog.psycopg import rows


@pytest.fixture(scope="module")
def conn(pg_cluster: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as connection:
        yield connection


QUERIES = [
    "select 1 as a, 'x' as b, null::int as c",
    'select 1 as "Mixed Case", 2 as "1st", 3 as "_under", 4 as "with-dash", 5 as "é"',
    "select * from generate_series(1, 3) as g(n)",
    "select",  # zero columns
]


@dataclasses.dataclass
class Record:
    a: int
    b: str
    c: Any


def run_with(conn: psycopg.Connection[Any], query: str, factory: Any) -> list[Any]:
    cur = conn.cursor()
    cur.execute(query)
    make = factory(cur)
    return [make(values) for values in conn.cursor().execute(query).fetchall()]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("name", ["tuple_row", "dict_row", "namedtuple_row", "scalar_row"])
def test_factories_match_psycopg(conn: psycopg.Connection[Any], query: str, name: str) -> None:
    def outcome(module: Any) -> Any:
        try:
            result = run_with(conn, query, getattr(module, name))
        except Exception as ex:
            return (type(ex).__name__, str(ex))
        return [(type(row).__name__, row._asdict() if hasattr(row, "_asdict") else row) for row in result]

    assert outcome(rows) == outcome(ref)


def test_namedtuple_field_names(conn: psycopg.Connection[Any]) -> None:
    (row,) = run_with(conn, QUERIES[1], rows.namedtuple_row)
    (expected,) = run_with(conn, QUERIES[1], ref.namedtuple_row)
    assert row._fields == expected._fields


def test_namedtuple_invalid_names_raise_data_error(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(e.DataError, match="can't create a namedtuple row"):
        run_with(conn, "select 1 as class", rows.namedtuple_row)


@pytest.mark.parametrize("module", [rows, ref])
def test_class_kwargs_args_rows(conn: psycopg.Connection[Any], module: Any) -> None:
    query = QUERIES[0]
    assert run_with(conn, query, module.class_row(Record)) == [Record(1, "x", None)]
    assert run_with(conn, query, module.kwargs_row(lambda **kw: sorted(kw))) == [["a", "b", "c"]]
    assert run_with(conn, query, module.args_row(lambda *args: list(args))) == [[1, "x", None]]


def test_no_result(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor()
    cur.execute("set timezone to 'UTC'")
    for factory in (rows.dict_row, rows.namedtuple_row, rows.scalar_row, rows.class_row(Record)):
        make = factory(cur)
        with pytest.raises(e.InterfaceError, match="the cursor doesn't have a result"):
            make([1])
    assert rows.tuple_row(cur) is tuple


def test_scalar_row_needs_a_column(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor()
    cur.execute("select")
    with pytest.raises(e.ProgrammingError, match="at least one column expected"):
        rows.scalar_row(cur)
