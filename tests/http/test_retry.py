"""``balrog.requests.adapters.Retry`` against urllib3's ``Retry``: the same answers from
``is_retry()``, ``increment()`` (counts left, history, when it gives up and with what),
``get_backoff_time()`` and ``from_int()`` — what code driving ``adapter.max_retries`` by
hand (the `responses` library) relies on."""

from __future__ import annotations

from typing import Any

import pytest
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util.retry import Retry as Urllib3Retry

from balrog.requests import adapters
from balrog.requests.adapters import Retry

POLICIES: list[dict[str, Any]] = [
    {"total": 0, "read": False},  # requests' default adapter
    {"total": 3},
    {"total": 3, "status_forcelist": [500, 502]},
    {"total": 5, "connect": 1, "read": 2, "status": 1, "status_forcelist": [503]},
    {"total": None, "status": 2, "status_forcelist": [500], "allowed_methods": ["POST"]},
    {"total": 2, "respect_retry_after_header": False},
    {"total": 2, "allowed_methods": False, "status_forcelist": [500]},
    {"total": False},
    {"total": 10, "redirect": 1},
]

STATUS_CASES = [
    ("GET", 500, False),
    ("GET", 503, True),
    ("GET", 429, True),
    ("GET", 413, False),
    ("POST", 500, False),
    ("POST", 503, True),
    ("HEAD", 502, False),
    ("GET", 200, False),
]


class FakeResponse:
    """What increment() reads of a response (urllib3's HTTPResponse surface)."""

    def __init__(self, status: int, location: str | None = None) -> None:
        self.status = status
        self.location = location
        self.headers: dict[str, str] = {}

    def get_redirect_location(self) -> Any:
        return self.location if self.status in (301, 302, 303, 307, 308) else False


def trail(retry: Any, steps: list[dict[str, Any]]) -> list[Any]:
    """Apply ``increment`` for each step; record the counts left or how it gave up."""
    seen: list[Any] = []
    for step in steps:
        try:
            retry = retry.increment(**step)
        except Exception as exc:
            reason = getattr(exc, "reason", None)
            seen.append(["raised", type(exc).__name__, type(reason).__name__, str(reason)[:40]])
            break
        seen.append(
            [
                retry.total,
                retry.connect,
                retry.read,
                retry.redirect,
                retry.status,
                [(h.method, h.url, h.status, h.redirect_location) for h in retry.history],
                retry.get_backoff_time(),
            ]
        )
    return seen


def _pair(policy: dict[str, Any]) -> tuple[Any, Any]:
    return Retry(backoff_factor=0.5, **policy), Urllib3Retry(backoff_factor=0.5, **policy)


@pytest.mark.parametrize("policy", POLICIES, ids=[str(p) for p in POLICIES])
def test_is_retry_as_urllib3(policy: dict[str, Any]) -> None:
    ours, theirs = _pair(policy)
    for method, status, has_retry_after in STATUS_CASES:
        assert ours.is_retry(method, status, has_retry_after) == theirs.is_retry(
            method, status, has_retry_after
        ), (method, status, has_retry_after)


STEPS: dict[str, list[dict[str, Any]]] = {
    "status": [{"method": "GET", "url": "/a", "response": FakeResponse(500)}] * 6,
    "redirects": [{"method": "GET", "url": "/r", "response": FakeResponse(302, "/next")}] * 12,
    "connect errors": [
        {"method": "GET", "url": "/c", "error": urllib3_exceptions.ConnectTimeoutError("slow connect")}
    ]
    * 6,
    "read errors": [
        {"method": "GET", "url": "/t", "error": urllib3_exceptions.ReadTimeoutError(None, "/t", "slow")}
    ]
    * 6,
    "read errors on POST": [
        {"method": "POST", "url": "/p", "error": urllib3_exceptions.ProtocolError("reset")}
    ],
    "other errors": [{"method": "GET", "url": "/o", "error": ValueError("odd")}] * 12,
}


@pytest.mark.parametrize("policy", POLICIES, ids=[str(p) for p in POLICIES])
@pytest.mark.parametrize("kind", list(STEPS))
def test_increment_as_urllib3(policy: dict[str, Any], kind: str) -> None:
    ours, theirs = _pair(policy)
    assert trail(ours, STEPS[kind]) == trail(theirs, STEPS[kind])


def test_spent_retries_raise_urllib3s_max_retry_error() -> None:
    """Where urllib3 is installed, one MaxRetryError class for everybody: `responses`
    catches ``requests.adapters.MaxRetryError`` around urllib3's own Retry."""
    assert adapters.MaxRetryError is urllib3_exceptions.MaxRetryError
    assert adapters.ProtocolError is urllib3_exceptions.ProtocolError
    with pytest.raises(adapters.MaxRetryError):
        Urllib3Retry(0).increment("GET", "/x", response=FakeResponse(500))  # type: ignore[arg-type]
    with pytest.raises(urllib3_exceptions.MaxRetryError) as raised:
        Retry(0).increment("GET", "/x", response=FakeResponse(500))
    assert isinstance(raised.value.reason, urllib3_exceptions.ResponseError)


def test_from_int_as_urllib3() -> None:
    for value in (0, 3):
        ours, theirs = Retry.from_int(value), Urllib3Retry.from_int(value)
        assert (ours.total, ours.redirect, ours.connect, ours.read) == (
            theirs.total,
            theirs.redirect,
            theirs.connect,
            theirs.read,
        )
    policy = Urllib3Retry(total=2)
    assert Retry.from_int(policy) is policy  # a urllib3 Retry is used as it is
    assert adapters.HTTPAdapter(max_retries=policy).max_retries is policy
