"""Run psycopg's own (sync) test files against balrog.psycopg, and optionally against psycopg.

Used by ``scripts/psycopg-suite``. Starts a throwaway PostgreSQL (tests/support/pg.py),
creates one database per run, runs pytest with the ``balrog_as_psycopg`` plugin and prints
the counts. psycopg's tests are not on PyPI, so a psycopg source checkout must be given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/, for support.pg

from support.pg import start_cluster  # noqa: E402

# Files about libpq internals, DNS, gevent, typing checks, Windows, free-threading or the
# C module. (The async files run: balrog.psycopg has the async API, over green tasks.)
SKIPPED_FILES = (
    "_noasyncio", "test_windows", "test_gevent", "test_dns", "test_typing",
    "test_free_threading", "test_waiting", "test_generators", "test_tstring",
    "test_concurrency", "test_sched",
)  # fmt: skip


def test_files(source: Path) -> list[str]:
    files = []
    for pattern in ("tests/test_*.py", "tests/types/test_*.py", "tests/pool/test_*.py"):
        for path in sorted(source.glob(pattern)):
            if not any(skip in path.name for skip in SKIPPED_FILES):
                files.append(str(path.relative_to(source)))
    return files


def run(
    source: Path, site: Path, conninfo: str, plugins: list[str], results: Path, extra: list[str]
) -> dict[str, int]:
    env = dict(os.environ, PSYCOPG_TEST_DSN=conninfo)
    # psycopg's async tests also use sync connections (fixtures) inside coroutines, where
    # psycopg blocks the event loop and balrog refuses (WrongModeError) unless allowed.
    env["BALROG_ALLOW_BLOCKING"] = "1"
    # tests/ too: the green plugin is support.green_bodies (shared with requests' suite).
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(HERE), str(HERE.parent.parent)])
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-m", "not slow", "--timeout", "60"]
    argv += ["--continue-on-collection-errors"]
    cache_dir = results.parent / (".pytest-" + results.stem)
    # psycopg's conftest refuses to run after a run that did not finish (it records a
    # "segfault" in the cache): a run interrupted by hand must not block the next one.
    shutil.rmtree(cache_dir, ignore_errors=True)
    results.unlink(missing_ok=True)
    argv += ["-o", f"cache_dir={cache_dir}", f"--junitxml={results}"]
    for plugin in plugins:
        argv += ["-p", plugin]
    if plugins:
        # Belt and braces: an aliased module imported before the plugin restored its spec
        # would warn that __package__ != __spec__.parent (a test-setup artefact).
        argv += ["-W", "ignore::ImportWarning"]
    argv += extra or test_files(source)
    subprocess.run(argv, cwd=source, env=env, stdout=subprocess.DEVNULL, check=False)
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for case in ET.parse(results).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts


def failed_ids(results: Path) -> set[str]:
    """The tests a JUnit file records as failed or errored."""
    return {
        f"{case.get('classname')}::{case.get('name')}"
        for case in ET.parse(results).iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, required=True, help="a psycopg source checkout")
    parser.add_argument("--site", type=Path, required=True, help="the suite's own test dependencies")
    parser.add_argument("--results", type=Path, required=True, help="a directory for the JUnit files")
    parser.add_argument("--reference", action="store_true", help="also run against psycopg itself")
    parser.add_argument(
        "--green", action="store_true", help="also run every sync test's body as a green task"
    )
    parser.add_argument("pytest_args", nargs="*", help="test files or ids (default: every sync file)")
    args = parser.parse_args()
    args.results.mkdir(parents=True, exist_ok=True)
    cluster = start_cluster()
    try:
        runs = [("balrog", ["balrog_as_psycopg"])]
        if args.green:
            runs.append(("balrog-green", ["balrog_as_psycopg", "support.green_bodies"]))
        if args.reference:
            runs.append(("psycopg", []))
        for name, plugins in runs:
            dbname = f"psycopg_test_{name.replace('-', '_')}"
            subprocess.run(
                ["psql", "-q", "-d", cluster.conninfo, "-c", f"create database {dbname}"], check=True
            )
            conninfo = f"host={cluster.host} port={cluster.port} user={cluster.user} dbname={dbname}"
            results = args.results / f"{name}.xml"
            counts = run(args.source, args.site, conninfo, plugins, results, args.pytest_args)
            passed, failed, skipped = counts["passed"], counts["failed"], counts["skipped"]
            print(f"{name}: {passed} passed, {failed} failed, {skipped} skipped")
        if args.green:
            # What green mode breaks: failures of the green run that the blocking one passed.
            blocking_failed = failed_ids(args.results / "balrog.xml")
            only_green = failed_ids(args.results / "balrog-green.xml") - blocking_failed
            print(f"failed only in green mode: {len(only_green)}")
            for test in sorted(only_green):
                print(f"  {test}")
    finally:
        cluster.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
