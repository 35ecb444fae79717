"""balrog.requests against requests, httpx, aiohttp and pyreqwest, side by side in one process,
against the same local server in a separate process; wrk is the floor.

The server is http_server_lean.py (HTTP/1.1 on a bare asyncio Protocol) unless
BALROG_BENCH_SERVER=uvicorn picks http_server.py (an ASGI app on uvicorn + httptools, the
server of the earlier runs): a server's own cost per request is added to every client
alike and so squeezes the ratios toward 1 (see http_server_lean.py).

    .venv/bin/python benches/http_bench.py            # unpinned and pinned (taskset -c 0)
    .venv/bin/python benches/http_bench.py --quick    # fewer rounds

Prints µs per request (median of rounds) and balrog's speed-up over each peer (ratio of
medians; > 1 means balrog is faster); writes benches/results/http_bench.png and .json.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
PYTHON = sys.executable


SERVERS = {"lean": "http_server_lean.py", "uvicorn": "http_server.py"}


def server_name() -> str:
    name = os.environ.get("BALROG_BENCH_SERVER", "lean")
    if name not in SERVERS:
        raise SystemExit(f"BALROG_BENCH_SERVER: one of {', '.join(SERVERS)}, not {name!r}")
    return name


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(pinned: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [PYTHON, os.path.join(HERE, SERVERS[server_name()]), str(port)]
    if pinned:
        command = ["taskset", "-c", "0", *command]
    env = dict(os.environ)
    if not env.get("BALROG_BENCH_STOCK_SERVER"):
        # glibc hands freed memory at the top of the heap back to the kernel (brk) as soon as
        # 128 KiB are free: the server's 256 KiB receive buffers for an upload then grow and
        # shrink the heap, a syscall and fresh page faults each time. Keep it instead (and
        # keep large blocks on the heap rather than mmap'ing each one). Server-side only.
        env.setdefault("MALLOC_TRIM_THRESHOLD_", str(256 << 20))
        env.setdefault("MALLOC_MMAP_THRESHOLD_", str(32 << 20))
    server = subprocess.Popen(command, env=env)
    import socket

    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def wrk_floor(url: str, pinned: bool) -> float | None:
    """µs per request of wrk on one connection."""
    if shutil.which("wrk") is None:
        return None
    command = ["wrk", "-t1", "-c1", "-d2s", url]
    if pinned:
        command = ["taskset", "-c", "0", *command]
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return 1e6 / float(match.group(1)) if match else None


def measure(fn: Callable[[], None], count: int, rounds: int) -> float:
    """Median µs per operation over `rounds` rounds of `count` operations (after a warm-up)."""
    for _ in range(max(1, count // 10)):
        fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            fn()
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


def measure_batch(run: Callable[[], None], operations: int, rounds: int) -> float:
    """Median µs per operation of a function that performs `operations` operations."""
    run()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) / operations * 1e6)
    return statistics.median(samples)


def sequential(base: str, path: str, count: int, rounds: int) -> dict[str, float]:
    import aiohttp
    import httpx
    import requests
    from pyreqwest.client import SyncClientBuilder

    import balrog.requests as brequests

    url = base + path
    out: dict[str, float] = {}
    with brequests.Session() as session:
        out["balrog"] = measure(lambda: session.get(url).content and None, count, rounds)
    with requests.Session() as session:
        out["requests"] = measure(lambda: session.get(url).content and None, max(200, count // 8), rounds)
    with httpx.Client() as client:
        out["httpx"] = measure(lambda: client.get(url).content and None, max(200, count // 4), rounds)
    client = SyncClientBuilder().build()
    out["pyreqwest"] = measure(lambda: client.get(url).build().send().bytes() and None, count, rounds)
    # The same client sending the four headers requests (and so balrog) sends by default:
    # the server's share of the difference, which a requests-compatible client must pay.
    headers = dict(brequests.Session().headers)
    same_headers = SyncClientBuilder().default_headers(headers).build()
    out["pyreqwest, requests' headers"] = measure(
        lambda: same_headers.get(url).build().send().bytes() and None, count, rounds
    )

    async def aiohttp_run() -> float:
        async with aiohttp.ClientSession() as http:

            async def once() -> None:
                async with http.get(url) as response:
                    await response.read()

            for _ in range(count // 10):
                await once()
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                for _ in range(count):
                    await once()
                samples.append((time.perf_counter() - start) / count * 1e6)
            return statistics.median(samples)

    out["aiohttp"] = asyncio.run(aiohttp_run())
    return out


def concurrent(base: str, tasks: int, per_task: int, rounds: int) -> dict[str, float]:
    import aiohttp

    import balrog
    import balrog.requests as brequests

    url = base + "/small"
    total = tasks * per_task
    out: dict[str, float] = {}
    session = brequests.Session()
    session.mount("http://", brequests.adapters.HTTPAdapter(pool_maxsize=tasks))

    def worker() -> None:
        for _ in range(per_task):
            _ = session.get(url).content  # read the body now

    def balrog_run() -> None:
        balrog.run(lambda: balrog.gather(*[worker for _ in range(tasks)]))

    out["balrog"] = measure_batch(balrog_run, total, rounds)
    session.close()

    def aiohttp_run() -> None:
        async def main() -> None:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=tasks)) as http:

                async def task() -> None:
                    for _ in range(per_task):
                        async with http.get(url) as response:
                            await response.read()

                await asyncio.gather(*[task() for _ in range(tasks)])

        asyncio.run(main())

    out["aiohttp"] = measure_batch(aiohttp_run, total, rounds)
    return out


def upload(base: str, rounds: int) -> dict[str, float]:
    import httpx
    import requests
    from pyreqwest.client import SyncClientBuilder

    import balrog.requests as brequests

    url = base + "/upload"
    body = b"u" * (10 << 20)
    out: dict[str, float] = {}
    with brequests.Session() as session:
        out["balrog"] = measure(lambda: session.post(url, data=body).content and None, 10, rounds)
    with requests.Session() as session:
        out["requests"] = measure(lambda: session.post(url, data=body).content and None, 10, rounds)
    with httpx.Client() as client:
        out["httpx"] = measure(lambda: client.post(url, content=body).content and None, 10, rounds)
    client = SyncClientBuilder().build()
    out["pyreqwest"] = measure(
        lambda: client.post(url).body_bytes(body).build().send().bytes() and None, 10, rounds
    )
    out["raw socket (floor)"] = measure(_raw_upload(base, body), 10, rounds)
    return out


def _raw_upload(base: str, body: bytes) -> Callable[[], None]:
    """The upload floor: no HTTP library, one keep-alive socket, the head and the body each
    in one `sendall`, the short answer read back. What any client's upload costs at least
    against this server."""
    import socket

    host, port = base.removeprefix("http://").split(":")
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    expected = str(len(body)).encode()

    def upload_once() -> None:
        sock.sendall(head)
        sock.sendall(body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        _, _, rest = data.partition(b"\r\n\r\n")
        while len(rest) < len(expected):
            rest += sock.recv(65536)
        if rest != expected:
            raise RuntimeError(f"unexpected upload answer: {rest[:100]!r}")

    return upload_once


def run_all(pinned: bool, quick: bool) -> dict[str, Any]:
    if pinned:
        os.sched_setaffinity(0, {0})
    server, base = start_server(pinned)
    rounds = 3 if quick else 5
    count = 500 if quick else 2000
    try:
        results: dict[str, Any] = {
            "floor_wrk_small": wrk_floor(base + "/small", pinned),
            "get_small": sequential(base, "/small", count, rounds),
            "get_100k": sequential(base, "/100k", count // 2, rounds),
            "concurrent_200x10": concurrent(base, 200, 10, rounds),
            "post_10mb": upload(base, rounds),
        }
    finally:
        server.terminate()
        server.wait()
    return results


def report(label: str, results: dict[str, Any]) -> None:
    print(f"\n== {label} ==  (µs per request, median; ratio = peer time / balrog time)")
    if results.get("floor_wrk_small"):
        print(f"  wrk floor (1 connection, small): {results['floor_wrk_small']:.1f} µs")
    for scenario, numbers in results.items():
        if not isinstance(numbers, dict):
            continue
        ours = numbers["balrog"]
        cells = [f"balrog {ours:,.1f}"]
        for peer, value in numbers.items():
            if peer != "balrog":
                cells.append(f"{peer} {value:,.1f} (x{value / ours:.2f})")
        print(f"  {scenario:18s} " + " | ".join(cells))
    upload = results.get("post_10mb", {})
    if upload.get("raw socket (floor)") and upload.get("requests"):
        best = upload["requests"] / upload["raw socket (floor)"]
        print(f"  post_10mb: a client with no cost of its own would be x{best:.2f} requests (the floor)")


def chart(all_results: dict[str, dict[str, Any]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = ["get_small", "get_100k", "concurrent_200x10", "post_10mb"]
    fig, axes = plt.subplots(
        len(all_results), len(scenarios), figsize=(18, 4.5 * len(all_results)), squeeze=False
    )
    for row, (label, results) in enumerate(all_results.items()):
        for col, scenario in enumerate(scenarios):
            axis = axes[row][col]
            numbers = results[scenario]
            names = list(numbers)
            values = [numbers[n] for n in names]
            colors = ["#d62728" if n == "balrog" else "#7f7f7f" for n in names]
            axis.bar(names, values, color=colors)
            axis.set_title(f"{scenario} ({label})")
            axis.set_ylabel("µs per request (lower is better)")
            axis.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, "http_bench.png")
    fig.savefig(path, dpi=90)
    return path


def main() -> None:
    quick = "--quick" in sys.argv
    if "--child" in sys.argv:
        pinned = "--pinned" in sys.argv
        print(json.dumps(run_all(pinned, quick)))
        return
    all_results: dict[str, dict[str, Any]] = {}
    for label in ("unpinned", "pinned"):
        # Each configuration in a fresh process (runtimes and pools start cold, CPU affinity).
        command = [PYTHON, os.path.abspath(__file__), "--child"]
        if label == "pinned":
            command.append("--pinned")
        if quick:
            command.append("--quick")
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        all_results[label] = json.loads(out.strip().splitlines()[-1])
        report(label, all_results[label])
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "http_bench.json"), "w") as handle:
        json.dump(all_results, handle, indent=2)
    print("\nchart:", chart(all_results))


if __name__ == "__main__":
    main()
