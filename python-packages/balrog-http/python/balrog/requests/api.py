"""The module-level functions: ``requests.get(url)`` and friends (one Session per call)."""

from __future__ import annotations

from typing import Any

from . import sessions
from .models import Response

__all__ = ["delete", "get", "head", "options", "patch", "post", "put", "request"]


def request(method: str, url: str | bytes, **kwargs: Any) -> Response:
    """Send a request with a throwaway Session (closed afterwards, so no socket leaks)."""
    with sessions.Session() as session:
        return session.request(method=method, url=url, **kwargs)  # type: ignore[no-any-return]


def get(url: str | bytes, params: Any = None, **kwargs: Any) -> Response:
    return request("get", url, params=params, **kwargs)


def options(url: str | bytes, **kwargs: Any) -> Response:
    return request("options", url, **kwargs)


def head(url: str | bytes, **kwargs: Any) -> Response:
    kwargs.setdefault("allow_redirects", False)
    return request("head", url, **kwargs)


def post(url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> Response:
    return request("post", url, data=data, json=json, **kwargs)


def put(url: str | bytes, data: Any = None, **kwargs: Any) -> Response:
    return request("put", url, data=data, **kwargs)


def patch(url: str | bytes, data: Any = None, **kwargs: Any) -> Response:
    return request("patch", url, data=data, **kwargs)


def delete(url: str | bytes, **kwargs: Any) -> Response:
    return request("delete", url, **kwargs)
