"""The shared PostgreSQL fixture really starts a server (checked with the reference psycopg)."""

import psycopg


def test_cluster_answers(pg_cluster):
    with psycopg.connect(pg_cluster.conninfo) as conn:
        assert conn.execute("select 1 + 1").fetchone() == (2,)
        assert conn.info.parameter_status("TimeZone") == "UTC"
