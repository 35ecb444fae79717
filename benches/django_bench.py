"""One Django view, four ways to serve it, side by side in one run.

    python benches/django_bench.py [--seconds 10] [--connections 200] [--rounds 3]

The view (benches/django_bench_project/bench/views.py): three queries and one insert inside
``transaction.atomic``, on a pool of at most 20 PostgreSQL connections, served by one
process each:

  a. green   — balrog.django.asgi under uvicorn, balrog's ENGINE (balrog.psycopg)
  b. asgi    — Django's stock ASGI handler under uvicorn, Django's ``pool`` on psycopg
  c. wsgi    — gunicorn's threaded worker (gthread, 1 process, 20 threads), psycopg pool
  d. async   — the same logic as an async view (Django's async ORM), stock ASGI, psycopg

Load: wrk (keep-alive) with 200 connections. Reported per contender: requests/s, p50/p99
latency (medians over rounds), server CPU time per request (user + system of the server
processes: the figure least disturbed by other load on the machine), peak RSS and OS
threads of the server process, and the most PostgreSQL sessions seen. Results go to
benches/results/django_bench.{json,svg}.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.join(HERE, "django_bench_project")
RESULTS = os.path.join(HERE, "results")
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from support.net import free_port, wait_for_port  # noqa: E402
from support.pg import start_cluster  # noqa: E402

POOL_MAX = 20
PY = sys.executable
# uvicorn's C parser when installed (as `uvicorn[standard]` does), else h11: the same for a, b, d.
HTTP_PARSER = "httptools" if importlib.util.find_spec("httptools") else "h11"
UVICORN = [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--loop", "asyncio", "--http", HTTP_PARSER]
UVICORN += ["--lifespan", "off", "--no-access-log", "--log-level", "warning", "--backlog", "2048"]
GUNICORN = [PY, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1"]
GUNICORN += ["--threads", str(POOL_MAX), "--backlog", "2048", "--log-level", "warning"]

STOCK_ENGINE = "django.db.backends.postgresql"
BALROG_ENGINE = "balrog.django.db.backends.postgresql"


@dataclass
class Contender:
    key: str
    label: str
    engine: str
    path: str
    command: list[str]  # "{port}" is replaced


CONTENDERS = [
    Contender(
        "green", "a. balrog green ASGI", BALROG_ENGINE, "/order/", [*UVICORN, "asgi_green:application"]
    ),
    Contender("asgi", "b. Django ASGI + pool", STOCK_ENGINE, "/order/", [*UVICORN, "asgi_stock:application"]),
    Contender("wsgi", "c. threaded WSGI (gthread)", STOCK_ENGINE, "/order/", [*GUNICORN, "wsgi:application"]),
    Contender(
        "async",
        "d. async view, async ORM",
        STOCK_ENGINE,
        "/async-order/",
        [*UVICORN, "asgi_stock:application"],
    ),
]


@dataclass
class Result:
    key: str
    label: str
    requests_per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_ms_per_request: float = 0.0
    errors: int = 0
    peak_rss_mib: float = 0.0
    threads: int = 0
    db_sessions: int = 0
    rounds: list[dict[str, float]] = field(default_factory=list)


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM (kB) and Threads of a process and its children (gunicorn forks a worker)."""
    total = {"VmHWM": 0, "Threads": 0}
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pids += [int(p) for p in children.read().split()]
    except OSError:
        pass
    for one in pids:
        try:
            with open(f"/proc/{one}/status") as status:
                for line in status:
                    name, _, value = line.partition(":")
                    if name in total:
                        total[name] += int(value.split()[0])
        except OSError:
            pass
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far (robust to a busy machine)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pids += [int(p) for p in children.read().split()]
    except OSError:
        pass
    ticks = 0
    for one in pids:
        try:
            with open(f"/proc/{one}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    if len(latency) < 2:
        raise RuntimeError(f"no latency distribution in wrk's output:\n{out}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    if os.environ.get("BENCH_VERBOSE"):
        print(out, file=sys.stderr)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = re.search(r"(\d+) requests in", out)
    return {
        "requests": float(requests.group(1)) if requests else 0.0,
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": to_ms(latency["50"]),
        "p99_ms": to_ms(latency["99"]),
        "errors": errors + (int(non_2xx.group(1)) if non_2xx else 0),
        "socket_errors": errors,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


class SessionCounter(threading.Thread):
    """Samples pg_stat_activity (client backends on the bench database) while a run goes."""

    def __init__(self, cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.peak = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'bench'"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        while not self.stop_event.wait(0.2):
            done = subprocess.run(
                ["psql", "-h", self.cluster.host, "-p", str(self.cluster.port), "-U", self.cluster.user,
                 "-d", "postgres", "-Atc", query],
                capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode == 0 and done.stdout.strip():
                self.peak = max(self.peak, int(done.stdout.strip()))


def psql(cluster, sql: str, dbname: str = "postgres") -> None:
    subprocess.run(
        ["psql", "-h", cluster.host, "-p", str(cluster.port), "-U", cluster.user, "-d", dbname, "-qAtc", sql],
        check=True,
        capture_output=True,
    )


def bench_one(contender: Contender, cluster, args: argparse.Namespace, env: dict[str, str]) -> Result:
    port = free_port()
    command = [*contender.command]
    if command[1] == "-m" and command[2] == "gunicorn":
        command += ["--bind", f"127.0.0.1:{port}"]
    else:
        command += ["--port", str(port)]
    server_env = {**env, "BENCH_ENGINE": contender.engine}
    if contender.engine == STOCK_ENGINE:
        server_env["BALROG_DJANGO_DRIVER"] = "psycopg"
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(command, cwd=PROJECT, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    result = Result(contender.key, contender.label)
    try:
        wait_for_port("127.0.0.1", port, timeout=60, process=server)
        url = f"http://127.0.0.1:{port}{contender.path}"
        run_wrk(url, 2, args.connections)  # warm-up: pool filled, code paths hot
        sessions = SessionCounter(cluster)
        sessions.start()
        threads = 0
        for _ in range(args.rounds):
            sampler_stop = threading.Event()

            def sample_threads(stop: threading.Event = sampler_stop) -> None:
                nonlocal threads
                while not stop.wait(0.2):
                    threads = max(threads, proc_status(server.pid)["Threads"])

            sampler = threading.Thread(target=sample_threads, daemon=True)
            sampler.start()
            cpu_before = cpu_seconds(server.pid)
            one_round = run_wrk(url, args.seconds, args.connections)
            used = cpu_seconds(server.pid) - cpu_before
            served = one_round["requests"] or 1
            one_round["cpu_ms_per_request"] = 1000 * used / served
            result.rounds.append(one_round)
            sampler_stop.set()
            sampler.join()
        sessions.stop_event.set()
        sessions.join()
        result.requests_per_second = statistics.median(r["requests_per_second"] for r in result.rounds)
        result.p50_ms = statistics.median(r["p50_ms"] for r in result.rounds)
        result.p99_ms = statistics.median(r["p99_ms"] for r in result.rounds)
        result.cpu_ms_per_request = statistics.median(r["cpu_ms_per_request"] for r in result.rounds)
        result.errors = int(sum(r["errors"] for r in result.rounds))
        result.peak_rss_mib = proc_status(server.pid)["VmHWM"] / 1024
        result.threads = threads
        result.db_sessions = sessions.peak
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        if result.requests_per_second == 0 or result.errors or os.environ.get("BENCH_VERBOSE"):
            log.seek(0)
            print(log.read().decode(errors="replace")[-3000:], file=sys.stderr)
        log.close()
    return result


def svg_chart(results: list[Result]) -> str:
    """Two bar groups: requests/s and p99 latency, one bar per contender."""
    width, height, left, bar = 760, 320, 190, 22
    colours = ["#d9480f", "#1c7ed6", "#37b24d", "#ae3ec9"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">'
    ]
    parts.append('<rect width="100%" height="100%" fill="white"/>')
    for column, (title, attribute, unit) in enumerate(
        [
            ("requests/s (higher is better)", "requests_per_second", ""),
            ("p99 latency (lower is better)", "p99_ms", " ms"),
        ]
    ):
        top = 30 + column * 150
        parts.append(f'<text x="10" y="{top - 8}" font-size="14" font-weight="bold">{title}</text>')
        peak = max(getattr(r, attribute) for r in results) or 1
        for row, result in enumerate(results):
            y = top + row * (bar + 6)
            value = getattr(result, attribute)
            length = (width - left - 90) * value / peak
            parts.append(f'<text x="10" y="{y + 16}" font-size="12">{result.label}</text>')
            parts.append(
                f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colours[row % 4]}"/>'
            )
            parts.append(
                f'<text x="{left + length + 6:.1f}" y="{y + 16}" font-size="12">{value:,.1f}{unit}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="contender keys (green asgi wsgi async)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (apt-get install wrk)")

    cluster = start_cluster()
    try:
        psql(cluster, "CREATE DATABASE bench")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "settings",
            "BENCH_DB_HOST": cluster.host,
            "BENCH_DB_PORT": str(cluster.port),
            "BENCH_DB_USER": cluster.user,
            "BENCH_DB_NAME": "bench",
            "BENCH_POOL_MAX": str(POOL_MAX),
        }
        migrate_env = {
            **env,
            "BENCH_ENGINE": STOCK_ENGINE,
            "BENCH_POOL_MAX": "0",
            "BALROG_DJANGO_DRIVER": "psycopg",
        }
        subprocess.run([PY, "-m", "django", "migrate", "-v", "0"], cwd=PROJECT, env=migrate_env, check=True)
        psql(
            cluster,
            "INSERT INTO bench_customer (name) SELECT 'c' || g FROM generate_series(1, 50) g",
            "bench",
        )
        results = []
        for contender in CONTENDERS:
            if args.only and contender.key not in args.only:
                continue
            print(f"{contender.label} ...", flush=True)
            results.append(bench_one(contender, cluster, args, env))
    finally:
        cluster.destroy()

    print()
    columns = ("req/s", "p50 ms", "p99 ms", "CPU ms/r", "errors", "RSS MiB", "threads", "DB conns")
    print(f"{'':28} " + " ".join(f"{c:>8}" for c in columns))
    for r in results:
        print(
            f"{r.label:28} {r.requests_per_second:8.0f} {r.p50_ms:8.1f} {r.p99_ms:8.1f}"
            f" {r.cpu_ms_per_request:8.2f} {r.errors:8d} {r.peak_rss_mib:8.1f}"
            f" {r.threads:8d} {r.db_sessions:8d}"
        )
    by_key = {r.key: r for r in results}
    if "green" in by_key:
        green = by_key["green"].requests_per_second
        for key in ("asgi", "wsgi", "async"):
            if key in by_key and by_key[key].requests_per_second:
                print(f"green / {key}: {green / by_key[key].requests_per_second:.2f}x requests/s")
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "django_bench.json"), "w") as out:
        meta = {"args": vars(args), "uvicorn_http": HTTP_PARSER, "pool_max": POOL_MAX}
        json.dump({**meta, "results": [asdict(r) for r in results]}, out, indent=1)
    with open(os.path.join(RESULTS, "django_bench.svg"), "w") as out:
        out.write(svg_chart(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
