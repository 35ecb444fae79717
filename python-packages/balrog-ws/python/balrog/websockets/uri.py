"""WebSocket URI parsing with websockets' rules and InvalidURI messages."""

from __future__ import annotations

import dataclasses
import urllib.parse

from .exceptions import InvalidURI

__all__ = ["WebSocketURI", "parse_uri"]

DELIMS = ":/?#[]@!$&'()*+,;="


@dataclasses.dataclass
class WebSocketURI:
    """A parsed ``ws://`` or ``wss://`` URI."""

    secure: bool
    host: str
    port: int
    path: str
    query: str
    username: str | None = None
    password: str | None = None

    @property
    def resource_name(self) -> str:
        resource_name = self.path or "/"
        if self.query:
            resource_name += "?" + self.query
        return resource_name

    @property
    def user_info(self) -> tuple[str, str] | None:
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)


def parse_uri(uri: str) -> WebSocketURI:
    """Parse and validate a WebSocket URI; raise InvalidURI if it isn't one."""
    parsed = urllib.parse.urlparse(uri)
    # An out-of-range port raises urllib's ValueError, as it does with websockets.
    port = parsed.port
    if parsed.scheme not in ("ws", "wss"):
        raise InvalidURI(uri, "scheme isn't ws or wss")
    if parsed.hostname is None:
        raise InvalidURI(uri, "hostname isn't provided")
    if parsed.fragment != "":
        raise InvalidURI(uri, "fragment identifier is meaningless")
    secure = parsed.scheme == "wss"
    host = parsed.hostname
    path = parsed.path
    query = parsed.query
    username = parsed.username
    password = parsed.password
    # Credentials without a password make no sense for HTTP Basic Auth.
    if username is not None:
        if password is None:
            raise InvalidURI(uri, "username provided without password")
        username = urllib.parse.unquote(username, errors="strict")
        password = urllib.parse.unquote(password, errors="strict")
    try:
        uri.encode("ascii")
    except UnicodeEncodeError:
        # An IRI: convert it to a URI.
        host = host.encode("idna").decode()
        path = urllib.parse.quote(path, safe=DELIMS)
        query = urllib.parse.quote(query, safe=DELIMS)
    return WebSocketURI(secure, host, port or (443 if secure else 80), path, query, username, password)
