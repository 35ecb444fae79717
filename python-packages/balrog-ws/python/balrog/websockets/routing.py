"""Django-style URL routing for WebSocket endpoints, with or without Django.

    from balrog.websockets.routing import path, router
    application = router(
        [path("ws/orders/<int:customer_id>/", notify)],
        fallback=django_asgi_application,    # HTTP and unmatched paths go there
    )

Patterns made with ``django.urls.path``/``re_path`` work too when Django is installed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .asgi import ASGIApp, Handler, Receive, Scope, Send, _not_websocket, endpoint

__all__ = ["Route", "path", "re_path", "router"]

# Django's default path converters: regex and Python conversion.
_CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "slug": (r"[-a-zA-Z0-9_]+", str),
    "uuid": (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid.UUID),
    "path": (r".+", str),
}
_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass
class Route:
    """A compiled WebSocket route: regex, converters, the endpoint app."""

    regex: re.Pattern[str]
    converters: dict[str, Callable[[str], Any]]
    app: ASGIApp
    name: str | None = None

    def match(self, route_path: str) -> dict[str, Any] | None:
        found = self.regex.fullmatch(route_path)
        if found is None:
            return None
        kwargs: dict[str, Any] = {}
        for key, value in found.groupdict().items():
            if value is None:
                continue
            convert = self.converters.get(key, str)
            try:
                kwargs[key] = convert(value)
            except ValueError:
                return None
        return kwargs


def _as_app(view: Handler | ASGIApp) -> ASGIApp:
    # Plain sync handlers become green endpoints; endpoint() apps pass through.
    if getattr(view, "__wrapped__", None) is not None:
        return view  # type: ignore[return-value]
    return endpoint(view)  # type: ignore[no-any-return]


def path(route: str, view: Handler | ASGIApp, name: str | None = None) -> Route:
    """Like ``django.urls.path``: ``"ws/chat/<str:room>/"`` (no leading slash)."""
    parts: list[str] = []
    converters: dict[str, Callable[[str], Any]] = {}
    position = 0
    for found in _PARAM.finditer(route):
        parts.append(re.escape(route[position : found.start()]))
        kind = found.group("converter") or "str"
        if kind not in _CONVERTERS:
            raise ValueError(f"unknown path converter {kind!r} in {route!r}")
        pattern, convert = _CONVERTERS[kind]
        parts.append(f"(?P<{found.group('name')}>{pattern})")
        converters[found.group("name")] = convert
        position = found.end()
    parts.append(re.escape(route[position:]))
    return Route(re.compile("".join(parts)), converters, _as_app(view), name)


def re_path(route: str, view: Handler | ASGIApp, name: str | None = None) -> Route:
    """Like ``django.urls.re_path``: named groups become keyword arguments."""
    regex = route[1:] if route.startswith("^") else route
    regex = regex[:-1] if regex.endswith("$") else regex
    return Route(re.compile(regex), {}, _as_app(view), name)


def _django_match(pattern: Any, route_path: str) -> tuple[ASGIApp, dict[str, Any]] | None:
    matched = pattern.pattern.match(route_path)
    if not matched:
        return None
    remaining, _args, kwargs = matched
    if remaining:
        return None
    return _as_app(pattern.callback), dict(kwargs)


def router(routes: Sequence[Any], fallback: ASGIApp | None = None) -> ASGIApp:
    """An ASGI application: WebSocket connections go to the first matching route (no match:
    HTTP 403), every other scope (HTTP, lifespan) to ``fallback`` (404 without one)."""
    compiled: list[Any] = [r if isinstance(r, Route) else _as_django(r) for r in routes]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            route_path = scope.get("path", "/").lstrip("/")
            for route in compiled:
                if isinstance(route, Route):
                    kwargs = route.match(route_path)
                    if kwargs is not None:
                        await route.app(scope, receive, send, **kwargs)  # type: ignore[call-arg]
                        return
                else:
                    found = _django_match(route, route_path)
                    if found is not None:
                        target, kwargs = found
                        await target(scope, receive, send, **kwargs)  # type: ignore[call-arg]
                        return
            # No route: refuse the handshake (HTTP 403) rather than hand a websocket scope to
            # an HTTP application that cannot handle it (Django's would raise).
            event = await receive()
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        if fallback is not None:
            await fallback(scope, receive, send)
        else:
            await _not_websocket(scope, receive, send)

    return app


def _as_django(pattern: Any) -> Any:
    if not hasattr(pattern, "pattern") or not hasattr(pattern, "callback"):
        raise TypeError(f"not a route: {pattern!r} (use balrog.websockets.routing.path)")
    return pattern
