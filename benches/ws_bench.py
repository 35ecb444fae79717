"""balrog.websockets against websockets (sync and asyncio clients), websocket-client and
picows, side by side in one process, against the same local echo server (picows, in its own
process).

    .venv/bin/python benches/ws_bench.py            # pinned (taskset -c 0) and unpinned
    .venv/bin/python benches/ws_bench.py --quick    # fewer rounds

Cases: 10,000 round trips of 16-byte messages; 100 round trips of 1 MiB messages;
1,000 green tasks on one thread, each holding a connection and echoing 100 messages.
Prints µs per round trip (median of rounds) and balrog's speed-up over each peer (ratio of
medians; > 1 means balrog is faster); writes benches/results/ws_bench.png and .json.

Compression: none, for every client. balrog and both websockets clients keep their default
(they offer permessage-deflate), but the picows echo server does not negotiate it;
websocket-client and picows never offer it. What each connection actually negotiated is
checked, printed and stored in the JSON (`negotiated`), so the comparison stays like for
like even if the server changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import bar_chart, median_time, timed, write_results

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = b"0123456789abcdef"
BIG = bytes(range(256)) * 4096  # 1 MiB
NEGOTIATED: dict[str, str | None] = {}
SMALL_TRIPS = 10_000
BIG_TRIPS = 100
TASKS = 1_000
PER_TASK = 100


# ---- one process: every client against the same server --------------------------------------


def bench_balrog(url: str, payload: bytes, trips: int) -> Callable[[], float]:
    from balrog.websockets.sync.client import connect

    ws = connect(url, max_size=None, ping_interval=None)
    NEGOTIATED["balrog"] = ws.response.headers.get("Sec-WebSocket-Extensions")

    def run() -> None:
        send, recv = ws.send, ws.recv
        for _ in range(trips):
            send(payload)
            recv()

    return timed(run, trips)


def bench_websockets_sync(url: str, payload: bytes, trips: int) -> Callable[[], float]:
    from websockets.sync.client import connect

    ws = connect(url, max_size=None, ping_interval=None)
    NEGOTIATED["websockets sync"] = ws.response.headers.get("Sec-WebSocket-Extensions")

    def run() -> None:
        send, recv = ws.send, ws.recv
        for _ in range(trips):
            send(payload)
            recv()

    return timed(run, trips)


def bench_websocket_client(url: str, payload: bytes, trips: int) -> Callable[[], float]:
    import websocket

    ws = websocket.create_connection(url, enable_multithread=False)
    NEGOTIATED["websocket-client"] = (ws.getheaders() or {}).get("sec-websocket-extensions")

    def run() -> None:
        for _ in range(trips):
            ws.send_binary(payload)
            ws.recv()

    return timed(run, trips)


class _Loop:
    """One event loop kept for the whole benchmark (asyncio peers run inside it)."""

    loop = asyncio.new_event_loop()


def bench_websockets_asyncio(url: str, payload: bytes, trips: int) -> Callable[[], float]:
    from websockets.asyncio.client import connect

    loop = _Loop.loop
    ws = loop.run_until_complete(connect(url, max_size=None, ping_interval=None))
    assert ws.response is not None
    NEGOTIATED["websockets asyncio"] = ws.response.headers.get("Sec-WebSocket-Extensions")

    async def run() -> float:
        start = time.perf_counter()
        for _ in range(trips):
            await ws.send(payload)
            await ws.recv()
        return (time.perf_counter() - start) / trips * 1e6

    return lambda: loop.run_until_complete(run())


def bench_picows(url: str, payload: bytes, trips: int) -> Callable[[], float]:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    loop = _Loop.loop

    class Client(WSListener):
        def __init__(self) -> None:
            self.waiter: asyncio.Future[bytes] | None = None
            self.parts: list[bytes] = []

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type in (WSMsgType.BINARY, WSMsgType.CONTINUATION):
                self.parts.append(frame.get_payload_as_bytes())
                if frame.fin and self.waiter is not None:
                    self.waiter.set_result(b"".join(self.parts))
                    self.parts = []

    transport, client = loop.run_until_complete(ws_connect(Client, url, max_frame_size=8 * 2**20))

    async def run() -> float:
        start = time.perf_counter()
        for _ in range(trips):
            client.waiter = loop.create_future()
            transport.send(WSMsgType.BINARY, payload)
            await client.waiter
        return (time.perf_counter() - start) / trips * 1e6

    return lambda: loop.run_until_complete(run())


def green_many(url: str) -> float:
    """1,000 green tasks on this thread, each with its own connection, 100 echoes each."""
    import balrog
    from balrog.websockets.sync.client import connect

    def one() -> int:
        with connect(url, ping_interval=None, compression=None) as ws:
            for _ in range(PER_TASK):
                ws.send(SMALL)
                ws.recv()
        return PER_TASK

    def main() -> int:
        return sum(balrog.gather(*[one for _ in range(TASKS)]))

    start = time.perf_counter()
    done = balrog.run(main)
    elapsed = time.perf_counter() - start
    assert done == TASKS * PER_TASK
    return elapsed / done * 1e6


def asyncio_many(url: str) -> float:
    """The same with websockets' asyncio client: 1,000 tasks on one loop."""
    from websockets.asyncio.client import connect

    async def one() -> int:
        async with connect(url, ping_interval=None, compression=None) as ws:
            for _ in range(PER_TASK):
                await ws.send(SMALL)
                await ws.recv()
        return PER_TASK

    async def main() -> int:
        return sum(await asyncio.gather(*[one() for _ in range(TASKS)]))

    start = time.perf_counter()
    done = asyncio.run(main())
    return (time.perf_counter() - start) / done * 1e6


CLIENTS: dict[str, Callable[[str, bytes, int], Callable[[], float]]] = {
    "balrog": bench_balrog,
    "websockets sync": bench_websockets_sync,
    "websockets asyncio": bench_websockets_asyncio,
    "websocket-client": bench_websocket_client,
    "picows": bench_picows,
}


def child(url: str, quick: bool) -> dict[str, Any]:
    rounds_small, rounds_big = (3, 2) if quick else (7, 5)
    results: dict[str, float] = {}
    for name, make in CLIENTS.items():
        results[f"16 B: {name}"] = median_time(make(url, SMALL, SMALL_TRIPS), rounds_small)
        results[f"1 MiB: {name}"] = median_time(make(url, BIG, BIG_TRIPS), rounds_big)
    results["1000 tasks: balrog green"] = green_many(url)
    results["1000 tasks: websockets asyncio"] = asyncio_many(url)
    NEGOTIATED["picows"] = None  # picows has no permessage-deflate
    return {"times": results, "negotiated": NEGOTIATED}


# ---- parent: servers, pinning, report -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(pinned: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, os.path.join(HERE, "ws_echo_server.py"), str(port)]
    if pinned:
        command = ["taskset", "-c", "0", *command]
    server = subprocess.Popen(command)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"ws://127.0.0.1:{port}/"
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)


def run_child(pinned: bool, quick: bool) -> dict[str, Any]:
    server, url = start_server(pinned)
    try:
        command = [sys.executable, __file__, "--child", url] + (["--quick"] if quick else [])
        if pinned:
            command = ["taskset", "-c", "0", *command]
        out = subprocess.run(command, check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        server.terminate()
        server.wait(10)


def report(results: dict[str, dict[str, float]], negotiated: dict[str, str | None]) -> None:
    print("extensions negotiated with the echo server:")
    for name, value in negotiated.items():
        print(f"  {name:20s} {value or 'none (no compression)'}")
    for label, values in results.items():
        print(f"\n== {label} (µs per round trip, median of rounds)")
        for case, value in values.items():
            print(f"  {case:34s} {value:10.1f}")
        print("  balrog's speed-up (peer time / balrog time):")
        for size in ("16 B", "1 MiB"):
            ours = values[f"{size}: balrog"]
            for name in CLIENTS:
                if name != "balrog":
                    print(f"    {size:6s} vs {name:20s} {values[f'{size}: {name}'] / ours:6.2f}x")
        ratio = values["1000 tasks: websockets asyncio"] / values["1000 tasks: balrog green"]
        print(f"    1000 green tasks vs websockets asyncio tasks {ratio:6.2f}x")


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        print(json.dumps(child(argv[1], "--quick" in argv)))
        return
    quick = "--quick" in argv
    runs = {"pinned": run_child(True, quick), "unpinned": run_child(False, quick)}
    results = {label: run["times"] for label, run in runs.items()}
    negotiated = runs["pinned"]["negotiated"]
    report(results, negotiated)
    write_results("ws_bench", {**results, "negotiated": negotiated})
    path = bar_chart("ws_bench", "WebSocket echo round trips (lower is better)", "µs per round trip", results)
    if path:
        print(f"\nchart: {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
