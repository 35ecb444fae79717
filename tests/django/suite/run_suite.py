"""Run Django's own test suite against a throwaway PostgreSQL, print and save the counts.

Meant to run inside a network namespace that has only loopback (scripts/django-suite sets
that up): the cluster is started here, inside it.

    python run_suite.py --django-tests DIR --driver balrog|psycopg [--parallel 2] [apps...]

Without apps, the whole suite runs (every app runtests.py finds itself; `issue4` stands
for the 41 apps the Django issue names, a quicker run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))  # tests/, for support.pg

from support.pg import start_cluster  # noqa: E402

# The apps issue 4 names (the label `issue4`).
ISSUE_APPS = (
    "basic queries lookup expressions expressions_case expressions_window aggregation "
    "aggregation_regress annotations db_functions model_fields backends transactions "
    "transaction_hooks select_for_update select_related prefetch_related bulk_create update "
    "delete delete_regress get_or_create many_to_one one_to_one many_to_many m2m_through "
    "generic_relations model_inheritance ordering raw_query custom_lookups timezones fixtures "
    "serializers migrations schema constraints indexes introspection inspectdb postgres_tests"
).split()

SETTINGS = {"balrog": "balrog_settings", "psycopg": "stock_settings"}

# Tests that check a permission error on a read-only file or directory: root may write
# anyway, so they fail under root with either driver. Counted apart when run as root.
ROOT_ONLY_FAILURES = {
    "file_uploads.tests.DirectoryCreationTests.test_readonly_root",
    "i18n.test_compilation.PoFileTests.test_no_write_access",
    "template_tests.test_loaders.FileSystemLoaderTests.test_permissions_error",
}


def failed_tests(output: str) -> set[str]:
    """The dotted names of the tests unittest reports as FAIL or ERROR."""
    return {
        f"{where.rsplit('.', 1)[0]}.{name}"
        for name, where in re.findall(r"^(?:FAIL|ERROR): (\S+) \((\S+)\)$", output, re.M)
    }


def parse_counts(output: str) -> dict[str, int | None]:
    """Counts from unittest's summary ("Ran N tests", "OK (skipped=..)" / "FAILED (..)")."""
    counts: dict[str, int | None] = {"run": None}
    ran = re.findall(r"^Ran (\d+) tests? in", output, re.M)
    if ran:
        counts["run"] = int(ran[-1])
    summary = re.findall(r"^(OK|FAILED)(?: \((.*)\))?$", output, re.M)
    for key in ("failures", "errors", "skipped", "expected failures", "unexpected successes"):
        counts[key] = 0
    if summary:
        status, details = summary[-1]
        counts["ok"] = int(status == "OK")
        for part in filter(None, (details or "").split(", ")):
            key, _, value = part.partition("=")
            counts[key] = int(value)
    if counts["run"] is not None:
        counts["passed"] = counts["run"] - sum(
            counts[k] or 0
            for k in ("failures", "errors", "skipped", "expected failures", "unexpected successes")
        )
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--django-tests", required=True, help="the tests/ directory of Django's sdist")
    parser.add_argument("--driver", choices=sorted(SETTINGS), default="balrog")
    parser.add_argument("--parallel", default="2")
    parser.add_argument("--results", help="write the counts as JSON here")
    parser.add_argument("--log", help="write runtests.py's output here")
    parser.add_argument("apps", nargs="*")
    args, passthrough = parser.parse_known_args()

    cluster = start_cluster()
    try:
        env = {
            **os.environ,
            "DJANGO_SUITE_DB_HOST": cluster.host,
            "DJANGO_SUITE_DB_PORT": str(cluster.port),
            "DJANGO_SUITE_DB_USER": cluster.user,
            "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "BALROG_DJANGO_DRIVER": args.driver,
        }
        command = [
            sys.executable,
            "runtests.py",
            f"--settings={SETTINGS[args.driver]}",
            f"--parallel={args.parallel}",
            "--noinput",
            *passthrough,
            *(label for app in args.apps for label in (ISSUE_APPS if app == "issue4" else [app])),
        ]
        started = time.monotonic()
        done = subprocess.run(command, cwd=args.django_tests, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
    finally:
        cluster.destroy()
    output = done.stdout + done.stderr
    if args.log:
        with open(args.log, "w") as log:
            log.write(output)
    failed = failed_tests(output)
    root_only = failed & ROOT_ONLY_FAILURES if os.geteuid() == 0 else set()
    counts = {
        "driver": args.driver,
        "wall_seconds": round(wall, 1),
        "exit": done.returncode,
        **parse_counts(output),
        "root_only_failures": sorted(root_only),
    }
    print(output[-2500:] if done.returncode else output[-600:])
    print(json.dumps(counts, indent=1))
    if args.results:
        with open(args.results, "w") as results:
            json.dump(counts, results, indent=1)
    # Passed: runtests.py passed, or its only failures are the root-only ones above (a
    # crash or a failure to start reports no FAIL/ERROR line, so it still fails here).
    passed = done.returncode == 0 or (bool(failed) and failed <= root_only and counts["run"] is not None)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
