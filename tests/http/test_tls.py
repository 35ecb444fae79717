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
