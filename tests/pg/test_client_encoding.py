"""balrog.psycopg speaks UTF-8 only: other client encodings are refused, never mangled.

psycopg encodes with the connection's encoding; balrog refuses a non-UTF8 encoding at
connect time, and a `SET client_encoding` to one in SQL closes the connection with an
OperationalError rather than carrying on with text the server would misread.
"""

from __future__ import annotations

import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def test_connect_refuses_a_foreign_encoding(pg_cluster) -> None:
    with pytest.raises(bp.NotSupportedError, match="client_encoding"):
        bp.connect(pg_cluster.dsn, client_encoding="LATIN1")


@pytest.mark.parametrize("name", ["UTF8", "utf-8", "unicode"])
def test_utf8_spellings_are_accepted(pg_cluster, name: str) -> None:
    with bp.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute(f"SET client_encoding TO '{name}'")
        assert conn.execute("SELECT 'é☃'").fetchone() == ("é☃",)
        assert conn.info.encoding == "utf-8"


def test_set_client_encoding_in_sql_closes_the_connection(pg_cluster) -> None:
    conn = bp.connect(pg_cluster.dsn, autocommit=True)
    try:
        with pytest.raises(bp.OperationalError, match="client_encoding"):
            conn.execute("SET client_encoding TO 'LATIN1'")
        assert conn.broken
        assert conn.closed
        with pytest.raises(bp.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()


def test_a_fresh_connection_is_unaffected(pg_cluster) -> None:
    conn = bp.connect(pg_cluster.dsn, autocommit=True)
    with pytest.raises(bp.OperationalError):
        conn.execute("SET client_encoding TO 'WIN1252'")
    conn.close()
    with bp.connect(pg_cluster.dsn) as again:
        assert again.execute("SHOW client_encoding").fetchone() == ("UTF8",)
