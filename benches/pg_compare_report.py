"""Tables, targets and the chart of benches/pg_compare.py.

A child's results look like ``{case: {impl: {"median": µs, "rounds": [...]} | {"error": msg}}}``
plus ``"memory": {impl: {"rss_growth_mb": MB, ...} | {"error": msg}}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

Results = dict[str, Any]

BLOCKING = "balrog blocking"
GREEN = "balrog green"
PG_EXT = "pgbench -M extended"
PG_SIMPLE = "pgbench -M simple"
# The messages balrog and psycopg send for a repeated statement (both prepare it after
# `prepare_threshold` executions): Bind, Describe, Execute, Sync on a named statement.
PG_PREPARED = "pgbench -M prepared"


@dataclass(frozen=True)
class CaseInfo:
    key: str
    title: str
    unit: str
    blocking: str = BLOCKING  # the balrog rows the ratio columns divide by
    green: str = GREEN


CASES = [
    CaseInfo("select1", "sequential SELECT 1", "µs/query"),
    CaseInfo("params", "SELECT $1::int, $2::text", "µs/query"),
    CaseInfo("fetch", "fetch rows (int, text, float8, timestamptz, numeric, bool, jsonb)", "µs/row"),
    CaseInfo("executemany", "executemany INSERT (one transaction)", "µs/row"),
    CaseInfo("copy", "COPY FROM STDIN", "µs/row", BLOCKING + " (binary)", GREEN + " (binary)"),
    CaseInfo(
        "pool",
        "concurrent tasks × SELECT 1 through a pool",
        "µs/query",
        "balrog pool, 10 threads",
        "balrog pool, green tasks",
    ),
]


@dataclass(frozen=True)
class Goal:
    """A target of the issue: min(peers) / balrog >= need (ratio > 1 = balrog faster)."""

    case: str
    peers: tuple[str, ...]
    balrog: str
    need: float
    text: str
    # Shown for context, not a target of the issue: printed as [info].
    informational: bool = False


def _sequential_goals(case: str, label: str) -> list[Goal]:
    """A sequential case's targets (≥ psycopg, within 1.3× of pgbench's fastest mode) and
    the [info] line against `-M prepared`."""
    return [
        Goal(case, ("psycopg",), BLOCKING, 1.0, f"{label}: blocking at least as fast as psycopg"),
        Goal(
            case,
            (PG_EXT, PG_SIMPLE, PG_PREPARED),
            BLOCKING,
            1 / 1.3,
            f"{label}: blocking within 1.3× of pgbench",
        ),
        Goal(case, (PG_PREPARED,), BLOCKING, 1 / 1.3, "  vs pgbench -M prepared (same messages)", True),
    ]


GOALS = [
    *_sequential_goals("select1", "SELECT 1"),
    Goal("select1", (PG_SIMPLE,), "psycopg", 1 / 1.3, "  psycopg itself vs pgbench -M simple", True),
    *_sequential_goals("params", "two params"),
    Goal("fetch", ("psycopg",), BLOCKING, 2.0, "fetch: 2× faster than psycopg"),
    Goal("fetch", ("asyncpg (jsonb→dict)",), BLOCKING, 1.5, "fetch: 1.5× faster than asyncpg (JSON decoded)"),
    Goal(
        "fetch",
        ("psycopg (binary)",),
        BLOCKING + " (binary)",
        1.0,
        "  binary results: balrog vs psycopg, both binary=True",
        True,
    ),
    Goal("executemany", ("asyncpg",), BLOCKING, 1.0, "executemany: at least as fast as asyncpg"),
    Goal(
        "copy", ("psycopg (binary)",), BLOCKING + " (binary)", 1.0, "COPY: at least as fast as psycopg binary"
    ),
    Goal(
        "pool", ("asyncpg pool, gather",), "balrog pool, green tasks", 1.3, "pool: 1.3× asyncpg pool + gather"
    ),
    Goal(
        "pool",
        ("psycopg_pool, 10 threads",),
        "balrog pool, green tasks",
        1.3,
        "pool: 1.3× psycopg_pool threads",
    ),
]
MEMORY_LIMIT_MB = 50.0


def median_of(results: Results, case: str, impl: str) -> float | None:
    entry = results.get(case, {}).get(impl)
    return entry.get("median") if isinstance(entry, dict) else None


def _ratio(peer: float | None, balrog: float | None) -> str:
    return f"{peer / balrog:6.2f}" if peer and balrog else "     -"


def case_table(info: CaseInfo, rows: dict[str, Any], note: str = "") -> list[str]:
    lines = [f"{info.title} — {info.unit}{note}", f"  {'':38} {'median':>10} {'÷blocking':>10} {'÷green':>8}"]
    blocking = rows.get(info.blocking, {}).get("median")
    green = rows.get(info.green, {}).get("median")
    for impl, entry in rows.items():
        if "error" in entry:
            lines.append(f"  {impl:38} error: {entry['error']}")
            continue
        value = entry["median"]
        lines.append(f"  {impl:38} {value:10.2f} {_ratio(value, blocking):>10} {_ratio(value, green):>8}")
    return lines


def goal_status(results: Results, goal: Goal) -> tuple[str, float | None]:
    peers = [m for p in goal.peers if (m := median_of(results, goal.case, p)) is not None]
    balrog = median_of(results, goal.case, goal.balrog)
    if not peers or balrog is None:
        return "n/a", None
    ratio = min(peers) / balrog
    return ("met" if ratio >= goal.need else "missed"), ratio


def memory_status(results: Results) -> list[tuple[str, str, float | None]]:
    out = []
    for impl, entry in results.get("memory", {}).items():
        growth = entry.get("rss_growth_mb")
        status = "n/a" if growth is None else ("met" if growth < MEMORY_LIMIT_MB else "missed")
        out.append((impl, status if impl.startswith("balrog") else "", growth))
    return out


def memory_table(results: Results) -> list[str]:
    mem = results.get("memory", {})
    if not mem:
        return []
    rows = next((e.get("rows") for e in mem.values() if "rows" in e), "?")
    lines = [
        f"server-side cursor, iterate {rows} rows — RSS growth (limit {MEMORY_LIMIT_MB:.0f} MB for balrog)"
    ]
    for impl, entry in mem.items():
        if "error" in entry:
            lines.append(f"  {impl:38} error: {entry['error']}")
        else:
            lines.append(
                f"  {impl:38} {entry['rss_growth_mb']:8.1f} MB   {entry['us_per_row']:6.2f} µs/row"
                f"   (itersize {entry['itersize']})"
            )
    return lines


def report(label: str, results: Results) -> list[str]:
    lines = [f"==== {label} ====", f"({results.get('_meta', {}).get('note', '')})", ""]
    for info in CASES:
        if info.key in results:
            lines += [*case_table(info, results[info.key]), ""]
    lines += [*memory_table(results), "", "targets (ratio = peer time / balrog time; >1 = balrog faster):"]
    for goal in GOALS:
        if goal.case not in results:
            continue
        status, ratio = goal_status(results, goal)
        if goal.informational and status != "n/a":
            status = "info"
        shown = f"{ratio:5.3f}" if ratio is not None else "    -"
        lines.append(f"  [{status:6}] {goal.text:52} ratio {shown} (need ≥ {goal.need:.2f})")
    for impl, status, growth in memory_status(results):
        if status:
            shown = f"{growth:5.1f} MB" if growth is not None else "-"
            lines.append(
                f"  [{status:6}] memory: {impl} under {MEMORY_LIMIT_MB:.0f} MB RSS growth      {shown}"
            )
    return lines


def chart(path: Path, runs: dict[str, Results]) -> Path | None:
    """Log-scale grouped bars: one panel per run (pinned, unpinned), one group per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 1, figsize=(15, 5.5 * len(runs)), squeeze=False)
    for ax, (label, results) in zip(axes[:, 0], runs.items(), strict=True):
        _panel(ax, label, results)
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _panel(ax: Any, label: str, results: Results) -> None:
    import matplotlib.pyplot as plt

    cases = [c for c in CASES if c.key in results]
    impls = list(dict.fromkeys(i for c in cases for i in results[c.key]))
    colors = plt.get_cmap("tab20")
    width = 0.85 / max(1, max(len(results[c.key]) for c in cases))
    for x, info in enumerate(cases):
        present = [(i, e["median"]) for i, e in results[info.key].items() if "median" in e]
        for j, (impl, value) in enumerate(present):
            xpos = x - 0.425 + (j + 0.5) * width
            is_balrog = impl.startswith("balrog")
            ax.bar(
                xpos, value, width, color=colors(impls.index(impl) % 20),
                edgecolor="black" if is_balrog else "none", linewidth=1.2,
            )  # fmt: skip
            ax.text(xpos, value, impl, rotation=90, fontsize=6, ha="center", va="bottom")
    ax.set_xticks(range(len(cases)))
    # "$" would start matplotlib mathtext ("$1::int, $2" renders as math): escape it.
    labels = [f"{c.title[:40]}\n({c.unit})".replace("$", r"\$") for c in cases]
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 20)  # room for the names printed above the bars
    ax.set_ylabel("µs per query / per row (log)")
    ax.set_title(f"balrog.psycopg vs peers — {label} (lower is better; balrog outlined)")
