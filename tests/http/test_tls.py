"""TLS against a local server with a trustme certificate: verification, CA bundles, client certs."""

from __future__ import annotations

from typing import Any

import pytest
import requests as upstream

import balrog.requests as requests

pytestmark = pytest.mark.both_modes


def test_self_signed_fails_by_default(httpbin_secure: Any) -> None:
    with pytest.raises(requests.exceptions.SSLError) as info:
        requests.get(httpbin_secure("/get"))
    assert isinstance(info.value, requests.ConnectionError)
    assert info.value.request is not None


def test_same_failure_as_requests(httpbin_secure: Any) -> None:
    with pytest.raises(upstream.exceptions.SSLError):
        upstream.get(httpbin_secure("/get"))


def test_verify_with_ca_bundle(httpbin_secure: Any, tls: dict[str, Any]) -> None:
    response = requests.get(httpbin_secure("/get"), verify=tls["ca_path"])
    assert response.status_code == 200
    assert response.url.startswith("https://")


def test_verify_false(httpbin_secure: Any) -> None:
    assert requests.get(httpbin_secure("/get"), verify=False).status_code == 200


def test_requests_ca_bundle_env(
    httpbin_secure: Any, tls: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls["ca_path"])
    assert requests.get(httpbin_secure("/get")).status_code == 200


def test_session_verify(httpbin_secure: Any, tls: dict[str, Any]) -> None:
    with requests.Session() as session:
        session.verify = tls["ca_path"]
        assert session.get(httpbin_secure("/get")).json()["method"] == "GET"


def test_missing_ca_bundle_path(httpbin_secure: Any) -> None:
    with pytest.raises(OSError, match="Could not find a suitable TLS CA certificate bundle"):
        requests.get(httpbin_secure("/get"), verify="/nonexistent/ca.pem")


def test_client_certificate(httpbin_mtls: Any, tls: dict[str, Any]) -> None:
    response = requests.get(
        httpbin_mtls("/get"), verify=tls["ca_path"], cert=(tls["client_cert"], tls["client_key"])
    )
    assert response.status_code == 200
    combined = requests.get(httpbin_mtls("/get"), verify=tls["ca_path"], cert=tls["client_combined"])
    assert combined.status_code == 200


def test_client_certificate_required(httpbin_mtls: Any, tls: dict[str, Any]) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(httpbin_mtls("/get"), verify=tls["ca_path"])


@pytest.fixture(scope="module")
def self_signed_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An HTTPS server whose certificate is self-signed and marked as a CA (what
    `openssl req -x509` makes): `verify="server.pem"` is how requests users trust it."""
    import http.server
    import ssl
    import threading

    from support.certs import self_signed

    cert_pem, key_pem = self_signed("localhost")
    directory = tmp_path_factory.mktemp("self-signed")
    (directory / "server.pem").write_bytes(cert_pem)
    (directory / "server.key").write_bytes(key_pem)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], str(directory / "server.pem")
    server.shutdown()
    server.server_close()


def test_self_signed_certificate_as_its_own_ca_bundle(self_signed_server: Any) -> None:
    # urllib3 (OpenSSL) takes the server's own certificate as the trust anchor; webpki alone
    # refused it as a CA used as the server's certificate.
    port, bundle = self_signed_server
    for lib in (upstream, requests):
        response = lib.get(f"https://localhost:{port}/", verify=bundle, timeout=10)
        assert (response.status_code, response.text) == (200, "ok")
        # The name is still checked: the certificate names localhost only.
        with pytest.raises(lib.exceptions.SSLError):
            lib.get(f"https://127.0.0.1:{port}/", verify=bundle, timeout=10)


def test_expired_self_signed_certificate_is_refused(tmp_path: Any) -> None:
    # Trusting the certificate itself does not skip its validity period.
    import http.server
    import ssl
    import threading

    from support.certs import self_signed

    cert_pem, key_pem = self_signed("localhost", expired=True)
    (tmp_path / "server.pem").write_bytes(cert_pem)
    (tmp_path / "server.key").write_bytes(key_pem)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for lib in (upstream, requests):
            with pytest.raises(lib.exceptions.SSLError, match="expired"):
                lib.get(f"https://localhost:{server.server_address[1]}/", verify=str(tmp_path / "server.pem"))
    finally:
        server.shutdown()
        server.server_close()
