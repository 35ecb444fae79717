"""The normalisation requests gives http(s) URLs (through urllib3's ``parse_url``), before
its own ``requote_uri``: dot segments removed from the path (RFC 3986 §5.2.4), characters
a component may not hold percent-encoded as UTF-8, existing escapes upper-cased — or, when a
``%`` in the component starts no valid escape, every ``%`` encoded as ``%25``.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = [
    "FRAGMENT",
    "PATH",
    "QUERY",
    "USERINFO",
    "encode_invalid",
    "invalid_host_char",
    "remove_dot_segments",
    "unquote_unreserved",
    "valid_host",
]

# RFC 3986 §2.3 and §3: what each component may hold as is.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = frozenset("!$&'()*+,;=")
USERINFO = _UNRESERVED | _SUB_DELIMS | {":"}
PATH = USERINFO | {"@", "/"}
QUERY = FRAGMENT = PATH | {"?"}

_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# A host may not hold controls or spaces (urllib3 refuses them before anything else).
_INVALID_HOST_CHAR = re.compile(r"[\x00-\x20\x7f]")


# A host as urllib3 accepts it: a bracketed IPv6 address (with a zone), or a registered name
# without brackets, colons, "/?#", or a "%" that starts no escape.
_REG_NAME = re.compile(r"(?:[^\[\]%:/?#]|%[0-9A-Fa-f]{2})*")


def valid_host(host: str) -> bool:
    """Whether urllib3 would read ``host`` (its port split off) as a host at all."""
    if host.startswith("["):
        if not host.endswith("]"):
            return False
        address = host[1:-1].partition("%")[0]
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return False
        return True
    return _REG_NAME.fullmatch(host) is not None


def invalid_host_char(host: str) -> str | None:
    """The first character ``host`` may not hold, if any."""
    found = _INVALID_HOST_CHAR.search(host)
    return found.group() if found else None


def unquote_unreserved(component: str) -> str:
    """Escapes of unreserved characters decoded ("%41" → "A"); others kept as they are."""

    def decode(match: re.Match[str]) -> str:
        char = chr(int(match.group(0)[1:], 16))
        return char if char in _UNRESERVED else match.group(0)

    return _ESCAPE.sub(decode, component)


def encode_invalid(component: str, allowed: frozenset[str]) -> str:
    """``component`` with what ``allowed`` does not admit percent-encoded."""
    if all(char in allowed for char in component):
        return component  # the usual case: nothing to do
    upper, escapes = _ESCAPE.subn(lambda match: match.group(0).upper(), component)
    keep_percent = escapes == component.count("%")
    out: list[str] = []
    for char in upper:
        if char in allowed or (keep_percent and char == "%"):
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4: "/a/./b/../c" → "/a/c"."""
    if "." not in path:
        return path
    pending = path
    output: list[str] = []
    while pending:
        if pending.startswith("../"):
            pending = pending[3:]
        elif pending.startswith("./"):
            pending = pending[2:]
        elif pending.startswith("/./"):
            pending = pending[2:]
        elif pending == "/.":
            pending = "/"
        elif pending.startswith("/../"):
            pending = pending[3:]
            if output:
                output.pop()
        elif pending == "/..":
            pending = "/"
            if output:
                output.pop()
        elif pending in (".", ".."):
            pending = ""
        else:
            # The first segment, with its leading "/" if any, up to the next "/".
            end = pending.find("/", 1)
            if end == -1:
                end = len(pending)
            output.append(pending[:end])
            pending = pending[end:]
    return "".join(output)
