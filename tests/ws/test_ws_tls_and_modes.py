"""wss:// with rustls (differential against websockets), backpressure, and many green
connections on one thread."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
import websockets.sync.client as ws_client
from websockets.asyncio.server import serve

import balrog
from balrog.websockets.sync.client import connect as balrog_connect

from .servers import WebsocketsServer
from .test_ws_client import outcome


@contextlib.contextmanager
def tls_echo_server(server_context: ssl.SSLContext) -> Iterator[int]:
    """websockets' asyncio echo server over TLS, in a thread; yields its port."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async def main() -> None:
        state["loop"] = asyncio.get_running_loop()
        state["stop"] = state["loop"].create_future()
        async with serve(echo, "127.0.0.1", 0, ssl=server_context) as server:
            state["port"] = server.sockets[0].getsockname()[1]
            ready.set()
            await state["stop"]

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield state["port"]
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set_result, None)
        thread.join(10)


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[str, trustme.CA]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_context)
    with tls_echo_server(server_context) as port:
        yield f"wss://localhost:{port}/", ca


@pytest.mark.both_modes
def test_wss_with_trusted_ca(tls_server: tuple[str, trustme.CA]) -> None:
    url, ca = tls_server
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    def script(connect: Any, url: str) -> Any:
        with connect(url, ssl=client_context) as ws:
            ws.send("secure")
            ws.send(b"x" * 200_000)
            return ws.recv(), len(ws.recv())

    theirs = outcome(ws_client.connect, url, script)
    ours = outcome(balrog_connect, url, script)
    assert ours == theirs == {"result": ("secure", 200_000)}


@pytest.mark.both_modes
def test_wss_untrusted_certificate_is_refused(tls_server: tuple[str, trustme.CA]) -> None:
    url, ca = tls_server

    def script(connect: Any, url: str) -> Any:
        connect(url, open_timeout=5)

    theirs = outcome(ws_client.connect, url, script)
    ours = outcome(balrog_connect, url, script)
    assert ours == theirs == {"type": "SSLCertVerificationError"}

    # As the ssl module reports it: errno 1, OpenSSL's verify code and message, a readable
    # str() (the "(_ssl.c:NNN)" suffix is OpenSSL's only).
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)

    def fields(connect: Any, url: str, **options: Any) -> Any:
        try:
            connect(url, open_timeout=5, **options)
        except ssl.SSLCertVerificationError as exc:
            return (exc.errno, exc.verify_code, exc.verify_message, str(exc).split(" (_ssl.c")[0])
        return None

    for options in ({}, {"ssl": trusted, "server_hostname": "other.invalid"}):
        theirs = outcome(ws_client.connect, url, lambda c, u, o=options: fields(c, u, **o))
        ours = outcome(balrog_connect, url, lambda c, u, o=options: fields(c, u, **o))
        assert ours == theirs
        assert ours["result"][1] in (20, 62)


def test_wss_without_verification(tls_server: tuple[str, trustme.CA]) -> None:
    url, _ = tls_server
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with balrog_connect(url, ssl=context) as ws:
        ws.send("unverified")
        assert ws.recv() == "unverified"


def test_ssl_argument_with_ws_uri(ws_server: WebsocketsServer) -> None:
    def script(connect: Any, url: str) -> Any:
        connect(url + "/echo", ssl=ssl.create_default_context())

    theirs = outcome(ws_client.connect, ws_server.url, script)
    ours = outcome(balrog_connect, ws_server.url, script)
    assert ours == theirs == {"type": "ValueError"}


def test_backpressure_keeps_messages_in_order(ws_server: WebsocketsServer) -> None:
    with balrog_connect(ws_server.url + "/echo", max_queue=4) as ws:
        for i in range(200):
            ws.send(f"m{i}")
        assert [ws.recv() for _ in range(200)] == [f"m{i}" for i in range(200)]


def test_many_green_connections_on_one_thread(ws_server_plain: WebsocketsServer) -> None:
    """300 green tasks on one thread, each holding its own connection and echoing."""
    thread_ids: set[int] = set()

    def one(i: int) -> int:
        with balrog_connect(ws_server_plain.url + "/echo", compression=None) as ws:
            for j in range(10):
                ws.send(f"{i}:{j}")
                assert ws.recv() == f"{i}:{j}"
            thread_ids.add(threading.get_ident())
        return i

    def main() -> list[int]:
        return balrog.gather(*[lambda i=i: one(i) for i in range(300)])

    assert balrog.run(main) == list(range(300))
    assert thread_ids == {threading.get_ident()}


def test_green_recv_suspends_only_its_task(ws_server: WebsocketsServer) -> None:
    """A green task waiting in recv() does not stop another from working."""

    def main() -> list[Any]:
        with (
            balrog_connect(ws_server.url + "/silent") as idle,
            balrog_connect(ws_server.url + "/echo") as busy,
        ):

            def waiter() -> str:
                try:
                    idle.recv(timeout=1.0)
                except TimeoutError:
                    return "timed out"
                return "unexpected"

            def worker() -> int:
                for i in range(50):
                    busy.send(str(i))
                    busy.recv()
                return 50

            return balrog.gather(waiter, worker)

    assert balrog.run(main) == ["timed out", 50]


# Forking a process that runs threads is the point of this test (3.12+ warns about it).
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_connection_is_dead_in_a_forked_child(ws_server: WebsocketsServer) -> None:
    import os

    with balrog_connect(ws_server.url + "/echo") as ws:
        pid = os.fork()
        if pid == 0:  # child: must refuse to touch the parent's socket, then exit quietly
            code = 1
            try:
                ws.send("from the child")
            except RuntimeError:
                code = 0
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's connection is untouched.
        ws.send("parent")
        assert ws.recv() == "parent"


@pytest.mark.both_modes
def test_wss_self_signed_certificate_trusted_as_its_own_root(tmp_path: Any) -> None:
    # websockets' docs trust a self-signed localhost.pem with load_verify_locations();
    # OpenSSL accepts the server certificate as its own root, and so does balrog now
    # (webpki alone refused it as a CA used as an end entity).
    from support.certs import self_signed

    cert_pem, key_pem = self_signed("localhost", "127.0.0.1")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client_context = ssl.create_default_context()
    client_context.load_verify_locations(cadata=cert_pem.decode())

    def script(connect: Any, url: str, **options: Any) -> Any:
        with connect(url, ssl=client_context, open_timeout=5, **options) as ws:
            ws.send("pinned")
            return ws.recv()

    with tls_echo_server(server_context) as port:
        url = f"wss://localhost:{port}/"
        theirs = outcome(ws_client.connect, url, script)
        ours = outcome(balrog_connect, url, script)
        assert ours == theirs == {"result": "pinned"}
        # The host name is still checked.
        theirs = outcome(ws_client.connect, url, lambda c, u: script(c, u, server_hostname="other.invalid"))
        ours = outcome(balrog_connect, url, lambda c, u: script(c, u, server_hostname="other.invalid"))
        assert ours == theirs == {"type": "SSLCertVerificationError"}


def test_check_hostname_false_checks_the_chain_only(tls_server: tuple[str, trustme.CA]) -> None:
    # A trusted chain, the wrong name: websockets (OpenSSL) connects when the context says
    # check_hostname=False, and still refuses an untrusted chain.
    url, ca = tls_server

    def script(connect: Any, url: str, trust: bool) -> Any:
        context = ssl.create_default_context()
        if trust:
            ca.configure_trust(context)
        context.check_hostname = False
        try:
            with connect(url, ssl=context, server_hostname="other.invalid", open_timeout=5) as ws:
                ws.send("chain only")
                return ws.recv()
        except ssl.SSLError as exc:
            return type(exc).__name__

    for trust in (True, False):
        theirs = outcome(ws_client.connect, url, lambda c, u, t=trust: script(c, u, t))
        ours = outcome(balrog_connect, url, lambda c, u, t=trust: script(c, u, t))
        assert ours == theirs
        assert ours["result"] == ("chain only" if trust else "SSLCertVerificationError")
