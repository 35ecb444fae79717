"""HTTP/2 where the server offers it over TLS (ALPN), HTTP/1.1 where it does not.

requests itself only speaks HTTP/1.1, so the differential tests run both clients against a
hypercorn server that offers both: balrog.requests negotiates h2, requests HTTP/1.1, and
what the user sees (status, body, cookies, redirects, errors) must still be the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests as real_requests

import balrog
import balrog.requests as requests
from support.servers import hypercorn_server

pytestmark = pytest.mark.both_modes

LIBS = [real_requests, requests]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echo endpoints: what arrived (protocol, headers, body digest), cookies, redirects."""
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    path = scope["path"]
    query = dict(parse_qsl(scope["query_string"].decode()))
    status, headers, payload = 200, [(b"content-type", b"application/json")], b""
    if path == "/info":
        if "wait" in query:
            await asyncio.sleep(float(query["wait"]))
        payload = json.dumps(
            {
                "http_version": scope["http_version"],
                "method": scope["method"],
                "client_port": scope["client"][1],
                "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "query": query,
            }
        ).encode()
    elif path == "/bytes":
        payload = bytes(range(256)) * (int(query["kib"]) * 4)
        headers = [(b"content-type", b"application/octet-stream")]
    elif path == "/set-cookie":
        headers += [(b"set-cookie", b"flavour=oat; Path=/"), (b"set-cookie", b"size=big; Path=/")]
        payload = b"{}"
    elif path == "/redirect":
        status, headers = 302, [(b"location", b"/info?redirected=1")]
    elif path == "/repeated":
        headers += [(b"x-dup", b"one"), (b"x-dup", b"two")]
        payload = b"{}"
    else:
        status, payload = 404, b"{}"
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="module")
def tls_files(tls: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("h2")
    cert, key = folder / "server.pem", folder / "server.key"
    Path(cert).write_bytes(b"".join(pem.bytes() for pem in tls["server_cert"].cert_chain_pems))
    tls["server_cert"].private_key_pem.write_to_path(str(key))
    return str(cert), str(key)


@pytest.fixture(scope="module")
def h2_server(tls_files: tuple[str, str]) -> Iterator[str]:
    with hypercorn_server(app, *tls_files) as url:
        yield url


@pytest.fixture(scope="module")
def h1_only_server(tls_files: tuple[str, str]) -> Iterator[str]:
    with hypercorn_server(app, *tls_files, alpn=("http/1.1",)) as url:
        yield url


def test_h2_is_negotiated(h2_server: str, tls: dict[str, Any]) -> None:
    response = requests.get(h2_server + "/info", verify=tls["ca_path"])
    assert response.status_code == 200
    assert response.reason == "OK"
    assert response.json()["http_version"] == "2"
    assert (response.raw.version, response.raw.version_string) == (20, "HTTP/2")
    # requests on the same server: HTTP/1.1 (it offers no ALPN protocol).
    assert real_requests.get(h2_server + "/info", verify=tls["ca_path"]).json()["http_version"] == "1.1"


def test_http1_when_the_server_offers_only_http1(h1_only_server: str, tls: dict[str, Any]) -> None:
    response = requests.get(h1_only_server + "/info", verify=tls["ca_path"])
    assert response.json()["http_version"] == "1.1"
    assert response.raw.version == 11


def test_request_headers_over_h2(h2_server: str, tls: dict[str, Any]) -> None:
    """The user's headers arrive; HTTP/1-only ones requests adds by default (Connection:
    keep-alive) are left out, as HTTP/2 forbids them."""
    response = requests.get(
        h2_server + "/info", headers={"X-Custom": "yes", "Accept": "text/plain"}, verify=tls["ca_path"]
    )
    received = dict(response.json()["headers"])
    assert received["x-custom"] == "yes"
    assert received["accept"] == "text/plain"
    assert received["user-agent"].startswith("python-requests/")
    assert "connection" not in received


def _bodies() -> list[tuple[str, Any]]:
    payload = bytes(range(256)) * 1024

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 40000):
            yield payload[start : start + 40000]

    return [
        ("bytes", lambda: {"data": payload}),
        ("generator", lambda: {"data": chunks()}),
        ("json", lambda: {"json": {"a": [1, 2, 3]}}),
        ("form", lambda: {"data": {"k": "v", "n": "1"}}),
        ("files", lambda: {"files": {"upload": ("f.bin", payload[:1000], "application/octet-stream")}}),
    ]


@pytest.mark.parametrize(("kind", "make"), _bodies(), ids=[kind for kind, _ in _bodies()])
def test_bodies_over_h2(h2_server: str, tls: dict[str, Any], kind: str, make: Any) -> None:
    """The server receives the same body from requests (HTTP/1.1) and balrog (HTTP/2); a
    generator goes as DATA frames without HTTP/1's Transfer-Encoding."""
    seen = []
    for lib in LIBS:
        info = lib.post(h2_server + "/info", verify=tls["ca_path"], **make()).json()
        headers = dict(info["headers"])
        seen.append((info["length"], info["sha256"] if kind != "files" else None, info["method"]))
        if lib is requests:
            assert info["http_version"] == "2"
            assert "transfer-encoding" not in headers
    assert seen[0] == seen[1]


def test_streamed_download_over_h2(h2_server: str, tls: dict[str, Any]) -> None:
    sizes = []
    for lib in LIBS:
        with lib.get(h2_server + "/bytes?kib=4096", verify=tls["ca_path"], stream=True) as response:
            digest = hashlib.sha256()
            for chunk in response.iter_content(65536):
                digest.update(chunk)
            sizes.append((response.headers["Content-Length"], digest.hexdigest()))
    assert sizes[0] == sizes[1]


def test_cookies_redirects_and_errors_over_h2(h2_server: str, tls: dict[str, Any]) -> None:
    outcomes = []
    for lib in LIBS:
        with lib.Session() as session:
            session.verify = tls["ca_path"]
            session.get(h2_server + "/set-cookie")
            redirected = session.get(h2_server + "/redirect")
            cookie = dict(redirected.json()["headers"]).get("cookie")
            missing = session.get(h2_server + "/nothing")
            try:
                missing.raise_for_status()
                error = None
            except lib.HTTPError as exc:
                # (Not the reason: HTTP/2 has none, so balrog gives the standard one where
                # hypercorn's HTTP/1.1 sends an empty phrase.)
                error = str(exc).split(":")[0]
            outcomes.append(
                (
                    sorted(session.cookies.items()),
                    sorted(cookie.split("; ")),
                    [r.status_code for r in redirected.history],
                    redirected.url,
                    redirected.json()["query"],
                    missing.status_code,
                    error,
                )
            )
    assert outcomes[0] == outcomes[1]


def test_repeated_response_headers_over_h2(h2_server: str, tls: dict[str, Any]) -> None:
    response = requests.get(h2_server + "/repeated", verify=tls["ca_path"])
    assert response.headers["X-Dup"] == "one, two"
    assert response.raw.headers.getlist("x-dup") == ["one", "two"]


def test_h2_verification_failure(h2_server: str) -> None:
    """No CA given: the self-signed chain is refused before any protocol is chosen."""
    for lib in LIBS:
        with pytest.raises(lib.exceptions.SSLError):
            lib.get(h2_server + "/info")


def test_one_connection_carries_concurrent_streams(h2_server: str, tls: dict[str, Any]) -> None:
    """A Session's requests share one HTTP/2 connection; green tasks multiplex on it."""
    with requests.Session() as session:
        session.verify = tls["ca_path"]

        def fetch(n: int) -> tuple[int, str]:
            info = session.get(h2_server + f"/info?wait=0.2&n={n}").json()
            return info["client_port"], info["query"]["n"]

        # The first request settles the protocol: until ALPN has chosen h2 the pool cannot
        # know that one connection will do, and tasks racing it may each open one.
        first_port, _ = fetch(-1)
        if balrog.mode() == "green":
            results = list(balrog.gather(*[(lambda n=n: fetch(n)) for n in range(30)]))
        else:
            results = [fetch(n) for n in range(3)]
    assert [n for _, n in results] == [str(n) for n in range(len(results))]
    assert {port for port, _ in results} == {first_port}
