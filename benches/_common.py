"""Helpers shared by the benchmarks: timing rounds, pinning, result files and charts."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def median_time(run: Callable[[], float], rounds: int) -> float:
    """Median of `rounds` calls of `run` (each returns its own per-op time)."""
    run()  # warm-up
    return statistics.median(run() for _ in range(rounds))


def timed(fn: Callable[[], object], ops: int) -> Callable[[], float]:
    """A round: call fn once, return microseconds per op."""

    def round_() -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) / ops * 1e6

    return round_


def run_pinned_and_unpinned(script: str, extra: list[str]) -> dict[str, dict[str, float]]:
    """Run `script --child` twice — pinned to CPU 0 and unpinned — and collect its JSON."""
    results = {}
    for label, prefix in (("pinned", ["taskset", "-c", "0"]), ("unpinned", [])):
        out = subprocess.run(
            [*prefix, sys.executable, script, "--child", *extra],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        results[label] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def write_results(name: str, data: object) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def bar_chart(name: str, title: str, unit: str, series: dict[str, dict[str, float]]) -> Path | None:
    """Grouped bars: one group per case, one bar per series (e.g. pinned/unpinned)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no chart)")
        return None
    cases = list(next(iter(series.values())).keys())
    fig, ax = plt.subplots(figsize=(max(8, len(cases) * 1.4), 5))
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        xs = [c + i * width for c in range(len(cases))]
        ax.bar(xs, [values[c] for c in cases], width, label=label)
    ax.set_xticks([c + width * (len(series) - 1) / 2 for c in range(len(cases))])
    ax.set_xticklabels(cases, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(unit)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
