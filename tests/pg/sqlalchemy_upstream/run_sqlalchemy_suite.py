"""Run SQLAlchemy's own test suite against a throwaway PostgreSQL through balrog's driver.

Meant to run inside a network namespace that has only loopback (scripts/sqlalchemy-suite
sets that up): the cluster is started here, inside it, and set up as SQLAlchemy's
README.unittests asks (a UTF8 database "test", schemas test_schema and test_schema_2, the
hstore and citext extensions, English text search).

    python run_sqlalchemy_suite.py --source DIR --dialect psycopg|psycopg_async
        [--driver balrog|psycopg] [--junit FILE] [test paths ...] [pytest options]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))  # tests/, for support.pg

from support.pg import start_cluster  # noqa: E402

SETUP = [
    "CREATE SCHEMA test_schema",
    "CREATE SCHEMA test_schema_2",
    "CREATE EXTENSION hstore",
    "CREATE EXTENSION citext",
]


def prepare(dsn: str) -> str:
    """Create and set up the "test" database; its URL without the driver part."""
    import balrog.psycopg as driver

    with driver.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE DATABASE test ENCODING 'UTF8' TEMPLATE template0")
        conn.execute("ALTER DATABASE test SET default_text_search_config = 'pg_catalog.english'")
    test_dsn = dsn.rsplit("/", 1)[0] + "/test"
    with driver.connect(test_dsn, autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)
    return test_dsn


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True, help="the unpacked SQLAlchemy sdist")
    parser.add_argument("--dialect", choices=["psycopg", "psycopg_async"], default="psycopg")
    parser.add_argument("--driver", choices=["balrog", "psycopg"], default="balrog")
    parser.add_argument("--junit", help="write pytest's junit XML here")
    parser.add_argument("paths", nargs="*", default=["test/dialect/postgresql"])
    args, passthrough = parser.parse_known_args()

    cluster = start_cluster()
    try:
        dsn = prepare(cluster.dsn)
        plugins = ["-p", "deselect_plugin"]
        if args.driver == "balrog":
            plugins += ["-p", "balrog_as_psycopg_sa"]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            # SQLAlchemy's harness runs its session set-up (which connects with the sync
            # dialect too) inside greenlet_spawn under a running asyncio loop: a blocking
            # call there is what balrog refuses by default, and is intended here.
            "BALROG_ALLOW_BLOCKING": "1",
        }
        command = [
            sys.executable, "-m", "pytest", *plugins, "-p", "no:cacheprovider",
            "--dburi", dsn.replace("postgresql://", f"postgresql+{args.dialect}://", 1),
            "-o", "faulthandler_timeout=300", "-W", "ignore::DeprecationWarning",
            *(["--junitxml", args.junit] if args.junit else []),
            *passthrough, *args.paths,
        ]  # fmt: skip
        print(f"== SQLAlchemy's suite, {args.dialect} dialect on {args.driver}: {' '.join(args.paths)} ==")
        sys.stdout.flush()
        return subprocess.run(command, cwd=args.source, env=env).returncode
    finally:
        cluster.destroy()


if __name__ == "__main__":
    sys.exit(main())
