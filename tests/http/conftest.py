"""Fixtures for the balrog.requests tests: local httpbin-like servers (plain, TLS, IPv6)."""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from httpbin import Server


@pytest.fixture(scope="session")
def httpbin() -> Iterator[Server]:
    server = Server("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def httpbin_ipv6() -> Iterator[Server]:
    try:
        server = Server("::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A trustme CA, its PEM path, a server certificate and a client certificate."""
    import trustme

    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("tls")
    ca_path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("client@balrog.test")
    client_cert_path = folder / "client.pem"
    client_key_path = folder / "client.key"
    client_cert.cert_chain_pems[0].write_to_path(str(client_cert_path))
    client_cert.private_key_pem.write_to_path(str(client_key_path))
    combined = folder / "client-combined.pem"
    combined.write_bytes(client_key_path.read_bytes() + client_cert_path.read_bytes())
    return {
        "ca": ca,
        "ca_path": str(ca_path),
        "server_cert": server_cert,
        "client_cert": str(client_cert_path),
        "client_key": str(client_key_path),
        "client_combined": str(combined),
    }


@pytest.fixture(scope="session")
def httpbin_secure(tls: dict[str, Any]) -> Iterator[Server]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls["server_cert"].configure_cert(context)
    server = Server("127.0.0.1", ssl_context=context)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def httpbin_mtls(tls: dict[str, Any]) -> Iterator[Server]:
    """A TLS server that requires a client certificate signed by the test CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls["server_cert"].configure_cert(context)
    tls["ca"].configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    server = Server("127.0.0.1", ssl_context=context)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxies or CA bundles from the machine's environment must not leak into tests."""
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("NETRC", os.devnull)
