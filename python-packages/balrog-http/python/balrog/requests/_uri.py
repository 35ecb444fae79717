"""URLs as requests reads and sends them, through urllib3.

* ``parse``: urllib3's ``parse_url`` — split by RFC 3986 (appendix B); the authority
  checked (a host urllib3 cannot read, a control character or space in it, a bad port, a
  non-ASCII name that is no IDNA label: ``ParseError``); http(s) URLs normalised before
  requests' own ``requote_uri``: dot segments removed from the path (§5.2.4), characters a
  component may not hold percent-encoded as UTF-8, existing escapes upper-cased (or, when a
  ``%`` starts no escape, every ``%`` encoded as ``%25``), the host lower-cased with
  escapes of unreserved characters decoded.
* ``wire_url``: the prepared URL as urllib3 puts it on the wire (its request target
  encoded once more).
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

__all__ = [
    "FRAGMENT",
    "PATH",
    "QUERY",
    "USERINFO",
    "ParseError",
    "Parts",
    "encode_invalid",
    "invalid_host_char",
    "parse",
    "remove_dot_segments",
    "valid_host",
    "wire_url",
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


class ParseError(ValueError):
    """A URL urllib3 cannot read; the message is urllib3's (``Failed to parse: ...``)."""


class Parts(NamedTuple):
    """A URL's components as ``parse_url`` leaves them ("" for absent ones)."""

    scheme: str
    userinfo: str
    host: str
    port: str
    path: str
    query: str
    fragment: str


# RFC 3986 appendix B, as urllib3 splits (a backslash also ends the authority). Unlike
# urlsplit it keeps tabs and line breaks (refused in a host, percent-encoded elsewhere) and
# does not judge brackets: the host check does.
_URI = re.compile(
    r"^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?://([^\\/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$", re.DOTALL
)
# What urllib3 takes for a scheme (or a leading "/"); anything else is read as "//" + url.
_LOOKS_SCHEMED = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+-]*:|/)")
_NORMALISED_SCHEMES = ("http", "https", "")


def parse(url: str) -> Parts:
    """``url``'s components, checked and (http, https, no scheme) normalised."""
    match = _URI.match(url if _LOOKS_SCHEMED.match(url) else "//" + url)
    assert match is not None  # every string matches (all parts optional)
    scheme, authority, path, query, fragment = (part or "" for part in match.groups())
    userinfo, host, port = _authority(authority, url) if authority else ("", "", "")
    scheme = scheme.lower()
    if scheme in _NORMALISED_SCHEMES:
        if not host.isascii():
            host = ".".join(label if label.isascii() else _idna_label(label) for label in host.split("."))
        if "%" in host and not host.startswith("["):
            # Escapes decoded or refused first (an error names the host as written), then
            # the name lower-cased with its remaining escapes in upper case.
            host = _ESCAPE.sub(lambda match: match.group(0).upper(), _normalise_host_escapes(host).lower())
        else:
            host = host.lower()
        userinfo = encode_invalid(userinfo, USERINFO)
        path = encode_invalid(remove_dot_segments(path), PATH)
        query = encode_invalid(query, QUERY)
        fragment = encode_invalid(fragment, FRAGMENT)
    if path and not path.startswith("/"):
        path = "/" + path  # urllib3's Url makes every path absolute
    return Parts(scheme, userinfo, host, port, path, query, fragment)


def _authority(authority: str, url: str) -> tuple[str, str, str]:
    """(userinfo, host, port) of an authority, or ParseError as urllib3 (2.8) refuses it, in
    its words (any scheme; IDNA and the rest of the normalisation are for http(s) only)."""
    userinfo, _, hostport = authority.rpartition("@")
    split = _host_and_port(hostport)
    if split is None:
        bad = invalid_host_char(hostport)
        if bad is not None:
            raise ParseError(f"Failed to parse: Host {hostport!r} contains invalid character {bad!r}")
        raise ParseError(f"Failed to parse: {hostport!r} is not a valid host or port")
    host, port = split
    if port and int(port) > 65535:
        raise ParseError(f"Failed to parse: {url}")
    bad = invalid_host_char(host)
    if bad is not None:
        raise ParseError(f"Failed to parse: Host {host!r} contains invalid character {bad!r}")
    return userinfo, host, port


_ASCII_DIGITS = re.compile(r"[0-9]*")


def _host_and_port(hostport: str) -> tuple[str, str] | None:
    """The host and the port (leading zeros dropped, "" if none) when ``hostport`` is a
    host urllib3 reads followed by at most a ":" and a port of up to five significant ASCII
    digits; None otherwise."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end == -1:
            return None
        host, rest = hostport[: end + 1], hostport[end + 1 :]
    else:
        host, colon, port = hostport.partition(":")
        rest = colon + port
    if not valid_host(host):
        return None
    if not rest:
        return host, ""
    digits = rest[1:]
    if rest[0] != ":" or not _ASCII_DIGITS.fullmatch(digits):
        return None
    significant = digits.lstrip("0") or ("0" if digits else "")
    if len(significant) > 5:
        return None
    return host, significant


def _normalise_host_escapes(host: str) -> str:
    """A registered name's escapes as urllib3 leaves them: an unreserved character decoded
    ("%41" → "a" once lower-cased), a control character refused, others upper-cased."""

    def decode(match: re.Match[str]) -> str:
        escape = match.group(0)
        char = chr(int(escape[1:], 16))
        if char < "\x20" or char == "\x7f":
            raise ParseError(
                f"Failed to parse: Host {host!r} contains invalid percent-encoded control "
                f"character {escape!r}"
            )
        return char if char in _UNRESERVED else escape.upper()

    return _ESCAPE.sub(decode, host)


def _idna_label(label: str) -> str:
    """A non-ASCII label in ASCII: IDNA 2008 (the ``idna`` package; Python's IDNA 2003
    codec without it)."""
    try:
        import idna
    except ImportError:
        try:
            return label.lower().encode("idna").decode("ascii")
        except UnicodeError:
            raise ParseError(f"Failed to parse: Name '{label}' is not a valid IDNA label") from None
    try:
        return str(idna.encode(label.lower(), strict=True, std3_rules=True).decode("ascii"))
    except idna.IDNAError:
        raise ParseError(f"Failed to parse: Name '{label}' is not a valid IDNA label") from None


# Characters a request target may carry as they are, and a "%" that starts an escape
# written in upper case (urllib3 upper-cases the others).
_NEEDS_WIRE_ENCODING = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]|%(?![0-9A-F]{2})")
_TARGET = re.compile(r"^([^:/?#]+://[^/?#]*)([^?#]*)(?:\?([^#]*))?")


def wire_url(url: str) -> str:
    """The prepared URL as urllib3 sends it: its path and query percent-encoded once more
    at send time (``_encode_target``: a stray ``%`` in the query that requests leaves is
    ``%25`` on the wire, ``[`` is ``%5B``, ``%0a`` is ``%0A``), the fragment left out. The URL requests shows
    (``request.url``) keeps its own form."""
    match = _TARGET.match(url)
    if match is None:
        return url
    origin, path, query = match.groups()
    rest = url[len(origin) :].partition("#")[0]
    if _NEEDS_WIRE_ENCODING.search(rest) is None:
        return url
    target = encode_invalid(path, PATH)
    if query is not None:
        target += "?" + encode_invalid(query, QUERY)
    return origin + target
