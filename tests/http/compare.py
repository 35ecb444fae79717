"""Helpers for differential tests: run the same call through requests and balrog.requests
and reduce each outcome to the parts that must agree."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests as upstream

import balrog.requests as ours

# Headers that legitimately differ between the two clients (or between two calls).
VOLATILE_HEADERS = {"date", "user-agent", "accept-encoding", "content-length", "host"}


def _echoed(data: Any) -> Any:
    """Drop what the echo endpoints report about the client itself."""
    if isinstance(data, dict) and "headers" in data:
        data = dict(data)
        data["headers"] = {
            k: re.sub(r"boundary=\w+", "boundary=*", v)
            for k, v in data["headers"].items()
            if k.lower() not in VOLATILE_HEADERS
        }
        data.pop("url", None)
    return data


def summary(response: Any) -> dict[str, Any]:
    """What a user sees of a response."""
    try:
        body: Any = _echoed(response.json())
    except ValueError:
        body = response.content
    echoed = isinstance(body, dict) and "headers" in body
    return {
        "type": type(response).__name__,
        "status": response.status_code,
        "reason": response.reason,
        "ok": response.ok,
        "url": response.url,
        "encoding": response.encoding,
        "headers": {k.lower(): v for k, v in response.headers.items() if k.lower() not in VOLATILE_HEADERS},
        "body": body,
        # Echoed bodies contain the client's own User-Agent/Accept-Encoding.
        "text_len": None if echoed else len(response.text),
        "cookies": sorted(response.cookies.items()),
        "history": [(r.status_code, r.url) for r in response.history],
        "is_redirect": response.is_redirect,
        "links": response.links,
        "request_method": response.request.method,
        "request_url": response.request.url,
        "next": response.next.url if response.next is not None else None,
    }


_EXCEPTION_MODULES = {"requests.exceptions", "balrog.requests.exceptions", "builtins", "json.decoder"}


def outcome(lib: Any, call: Callable[[Any], Any]) -> dict[str, Any]:
    """A response summary, or the exception's class names (own class and requests bases)."""
    try:
        result = call(lib)
    except Exception as exc:
        names = [cls.__name__ for cls in type(exc).__mro__ if cls.__module__ in _EXCEPTION_MODULES]
        return {"raised": names, "has_request": getattr(exc, "request", None) is not None}
    if hasattr(result, "status_code"):
        return summary(result)
    return {"value": result}


def differential(call: Callable[[Any], Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(requests outcome, balrog outcome) of the same call."""
    return outcome(upstream, call), outcome(ours, call)
