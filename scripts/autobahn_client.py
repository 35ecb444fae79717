"""Runs the Autobahn fuzzing server's client cases through balrog.websockets and
summarises the report (used by scripts/autobahn)."""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

from balrog.websockets import ConnectionClosed, WebSocketException
from balrog.websockets.sync.client import connect

AGENT = "balrog"
PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}


def run_case(url: str, number: int) -> None:
    try:
        # No size limit: cases 9.x send messages up to 16 MiB.
        with connect(f"{url}/runCase?case={number}&agent={AGENT}", max_size=None, open_timeout=30) as ws:
            for message in ws:
                ws.send(message)
    except (ConnectionClosed, WebSocketException, OSError, TimeoutError):
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--reports", required=True)
    parser.add_argument("--summary", default="")
    args = parser.parse_args()

    with connect(f"{args.url}/getCaseCount") as ws:
        count = int(ws.recv())
    started = time.monotonic()
    for number in range(1, count + 1):
        case_start = time.monotonic()
        run_case(args.url, number)
        if time.monotonic() - case_start > 2:
            print(f"case #{number} took {time.monotonic() - case_start:.1f} s", flush=True)
    with connect(f"{args.url}/updateReports?agent={AGENT}") as ws:
        ws.close()
    elapsed = time.monotonic() - started

    index = json.loads((Path(args.reports) / "index.json").read_text())[AGENT]
    by_group: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    failures = []
    for case_id, result in index.items():
        group = case_id.split(".")[0]
        behavior = result["behavior"]
        close = result["behaviorClose"]
        by_group[group][behavior] += 1
        if behavior not in PASSING or close not in PASSING:
            failures.append(f"{case_id}: {behavior} / close {close}")

    def order(group: str) -> int:
        return int(group)

    lines = [
        "| group | cases | OK | NON-STRICT | INFORMATIONAL | other |",
        "|---|---|---|---|---|---|",
    ]
    totals: collections.Counter[str] = collections.Counter()
    for group in sorted(by_group, key=order):
        counter = by_group[group]
        other = sum(v for k, v in counter.items() if k not in PASSING)
        totals.update(counter)
        lines.append(
            f"| {group} | {sum(counter.values())} | {counter['OK']} | {counter['NON-STRICT']} | "
            f"{counter['INFORMATIONAL']} | {other} |"
        )
    total_other = sum(v for k, v in totals.items() if k not in PASSING)
    lines.append(
        f"| all | {sum(totals.values())} | {totals['OK']} | {totals['NON-STRICT']} | "
        f"{totals['INFORMATIONAL']} | {total_other} |"
    )
    table = "\n".join(lines)
    print(table)
    print(f"{count} cases in {elapsed:.0f} s; failing: {len(failures)}")
    for failure in failures:
        print("  " + failure)

    if args.summary:
        text = [
            "# Autobahn|Testsuite: balrog.websockets client",
            "",
            "Produced by `scripts/autobahn` (autobahntestsuite 25.10.1 fuzzing server, Python 2.7.18,",
            "Twisted 19.10.0, autobahn 0.10.9) against `balrog.websockets.sync.client.connect`",
            "with its defaults (permessage-deflate offered) and `max_size=None`.",
            "",
            table,
            "",
            f"{count} cases, {elapsed:.0f} s. Cases not OK, NON-STRICT or INFORMATIONAL: {len(failures)}.",
        ]
        text += [f"- {failure}" for failure in failures]
        Path(args.summary).write_text("\n".join(text) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
