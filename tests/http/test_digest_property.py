"""Property-based differential test of Digest authentication: a server answers 401 with a
generated ``WWW-Authenticate: Digest`` challenge (realm, nonce, qop, algorithm, opaque), and
the Authorization header each library sends back must be the same. The client nonce is
made of ``time.ctime()`` and ``os.urandom(8)`` in both: the test fixes them.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests as upstream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import balrog.requests as ours
from support.servers import ThreadedServer, recv_request

pytestmark = [pytest.mark.timeout(300), pytest.mark.both_modes]


class ChallengeServer(ThreadedServer):
    """Answers a request without Authorization with 401 and the challenge its ``X-Challenge``
    header carries; one with Authorization with 200 and that header as the body."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            while True:  # the 401 keeps the connection: the answer may come on it
                request = recv_request(conn)
                if request is None:
                    return
                head = request[0]
                auth = re.search(rb"(?im)^authorization:\s*(.*)$", head)
                if auth:
                    payload = auth.group(1).strip()
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(payload)
                        + payload
                    )
                    return
                challenge = re.search(rb"(?im)^x-challenge:\s*(.*)$", head)
                value = challenge.group(1).strip() if challenge else b""
                conn.sendall(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: "
                    + value
                    + b"\r\nContent-Length: 0\r\n\r\n"
                )


@pytest.fixture(scope="module")
def server() -> Iterator[ChallengeServer]:
    s = ChallengeServer().start()
    yield s
    s.close()


@pytest.fixture
def fixed_cnonce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: b"\x01" * n)
    monkeypatch.setattr(time, "ctime", lambda *args: "Thu Jan  1 00:00:00 1970")


@st.composite
def challenges(draw: Any) -> str:
    parts = [
        f'realm="{draw(st.sampled_from(["test", "a, b", "ü realm", ""]))}"',
        f'nonce="{draw(st.sampled_from(["abc123", "0" * 32, "n,o"]))}"',
    ]
    qop = draw(st.sampled_from([None, "auth", "auth,auth-int", "auth-int", "AUTH"]))
    if qop is not None:
        parts.append(f'qop="{qop}"')
    algorithm = draw(
        st.sampled_from([None, "MD5", "MD5-SESS", "SHA", "SHA-256", "SHA-512", "md5", "UNKNOWN"])
    )
    if algorithm is not None:
        parts.append(f"algorithm={algorithm}")
    if draw(st.booleans()):
        parts.append('opaque="xyz"')
    if draw(st.booleans()):
        parts.append("stale=FALSE")
    draw(st.randoms()).shuffle(parts)
    return "Digest " + ", ".join(parts)


def authorization(lib: Any, url: str, method: str, challenge: str, user: str, password: str) -> Any:
    try:
        response = lib.request(
            method,
            url,
            headers={"X-Challenge": challenge},
            auth=lib.auth.HTTPDigestAuth(user, password),
            data=b"body" if method == "POST" else None,
            timeout=10,
        )
    except Exception as exc:
        return ("raised", type(exc).__name__)
    return (response.status_code, response.content)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    challenge=challenges(),
    method=st.sampled_from(["GET", "POST", "PUT"]),
    path=st.sampled_from(["/", "/dir/x?y=1&z=2", "/ü", ""]),
    user=st.sampled_from(["user", "ü", "a:b"]),
    password=st.sampled_from(["pw", "", 'p"w']),
)
def test_digest_answers_as_requests(
    server: ChallengeServer,
    fixed_cnonce: None,
    challenge: str,
    method: str,
    path: str,
    user: str,
    password: str,
) -> None:
    url = server.url + path
    expected = authorization(upstream, url, method, challenge, user, password)
    actual = authorization(ours, url, method, challenge, user, password)
    assert actual == expected
