"""balrog's main job, end to end: a plain sync Django view served as green tasks.

    python examples/django_demo/run.py [--requests 1000] [--clients 200] [--pool 20]

Starts a throwaway PostgreSQL (initdb + pg_ctl in a temp dir, via the repository's test
support), migrates the demo project, serves it with uvicorn through
``balrog.django.asgi`` on 127.0.0.1, fires the requests at ``/order/`` (get_or_create,
``order.save()`` inside ``transaction.atomic``, a query) from concurrent clients, prints
what happened, and shuts everything down.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests"))

from support.net import free_port, uvicorn_command, wait_for_port  # noqa: E402
from support.pg import start_cluster  # noqa: E402
from support.proc import status_field  # noqa: E402


@dataclass
class Outcome:
    status: int
    body: bytes
    seconds: float


async def get(port: int, target: str) -> Outcome:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return Outcome(int(head.split()[1]), body, time.perf_counter() - started)


def dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


async def fire(port: int, requests: int, clients: int) -> tuple[list[Outcome | BaseException], float]:
    numbers = iter(range(requests))

    async def client(results: list[Outcome | BaseException]) -> None:
        for n in numbers:
            try:
                results.append(await get(port, f"/order/?n={n}"))
            except OSError as exc:
                results.append(exc)

    results: list[Outcome | BaseException] = []
    started = time.perf_counter()
    await asyncio.gather(*(client(results) for _ in range(clients)))
    return results, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--pool", type=int, default=20, help="max DB connections (Django's OPTIONS pool)")
    args = parser.parse_args()

    print("starting a throwaway PostgreSQL ...", flush=True)
    cluster = start_cluster()
    server: subprocess.Popen[bytes] | None = None
    log = tempfile.TemporaryFile()
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "demo.settings",
            "DEMO_DB_HOST": cluster.host,
            "DEMO_DB_PORT": str(cluster.port),
            "DEMO_DB_USER": cluster.user,
            "DEMO_DB_NAME": cluster.dbname,
            "DEMO_POOL_MAX": str(args.pool),
        }
        print("migrating ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=HERE, env=env, check=True
        )
        port = free_port()
        server = subprocess.Popen(
            uvicorn_command("demo.asgi:application", port),
            cwd=HERE,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port("127.0.0.1", port, timeout=60, process=server)
        print(f"serving demo.asgi (balrog green ASGI) on 127.0.0.1:{port}", flush=True)
        print(f"firing {args.requests} requests from {args.clients} concurrent clients ...", flush=True)
        results, elapsed = asyncio.run(fire(port, args.requests, args.clients))
        threads_now = status_field("Threads", server.pid)
        stats = json.loads(asyncio.run(get(port, "/stats/")).body)

        ok = [r for r in results if isinstance(r, Outcome) and r.status == 200]
        bodies = [json.loads(r.body) for r in ok]
        latencies = sorted(r.seconds for r in ok)
        errors = len(results) - len(ok)
        print()
        print(f"requests          {len(results)}")
        print(f"errors            {errors}")
        print(f"requests/s        {len(results) / elapsed:,.0f}")
        if latencies:
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
            print(f"latency p50/p99   {p50:.1f} ms / {p99:.1f} ms")
        print(f"orders written    {stats['orders']} (one per request: {stats['orders'] == len(ok)})")
        print(f"view threads      {len({b['thread'] for b in bodies})} (the event loop's)")
        print(f"server OS threads {threads_now}")
        print(f"DB connections    {len({b['backend_pid'] for b in bodies})} used (pool max {args.pool})")
        if errors:
            log.seek(0)
            print(log.read().decode(errors="replace")[-3000:])
        return 0 if not errors and stats["orders"] == len(ok) else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        cluster.destroy()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
