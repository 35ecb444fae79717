"""Connection strings: parse, merge and resolve them as libpq does.

Two syntaxes are accepted, as by libpq's ``PQconninfoParse``: ``key=value`` pairs
(``host=db port=5432 password='it''s'``) and URIs (``postgresql://user:pw@h1:5432,h2/db?sslmode=require``).
Invalid strings raise ProgrammingError with libpq's wording.

Besides psycopg's public functions this module has the resolution a connection needs
(:func:`effective_params`): environment variables (``PGHOST``, ``PGPORT`` ...), the
service file, compiled defaults and the password file, with libpq's precedence.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from random import shuffle
from typing import Any

from . import errors as e

__all__ = [
    "connection_parameters",
    "conninfo_attempts",
    "conninfo_attempts_async",
    "conninfo_to_dict",
    "effective_params",
    "get_param",
    "make_conninfo",
    "resolve_params",
    "split_attempts",
    "timeout_from_conninfo",
]

logger = logging.getLogger("psycopg")  # psycopg's, so its logging setup applies

ConnParam = str | int | None
ConnDict = dict[str, Any]


@dataclass(frozen=True)
class ParamDef:
    """A connection keyword: its environment variable and compiled-in default."""

    keyword: str
    envvar: str
    compiled: str | None


# libpq 18's connection keywords, in libpq's own order (conninfo_to_dict returns them in
# this order, and make_conninfo writes them in it), with their environment variable and
# compiled default. "host"'s default depends on the platform: see default_host().
_PARAM_DEFS = [
    ParamDef(keyword, envvar, compiled)
    for keyword, envvar, compiled in [
        ("service", "PGSERVICE", None),
        ("user", "PGUSER", None),
        ("password", "PGPASSWORD", None),
        ("passfile", "PGPASSFILE", None),
        ("channel_binding", "PGCHANNELBINDING", "prefer"),
        ("connect_timeout", "PGCONNECT_TIMEOUT", None),
        ("dbname", "PGDATABASE", None),
        ("host", "PGHOST", None),
        ("hostaddr", "PGHOSTADDR", None),
        ("port", "PGPORT", "5432"),
        ("client_encoding", "PGCLIENTENCODING", None),
        ("options", "PGOPTIONS", ""),
        ("application_name", "PGAPPNAME", None),
        ("fallback_application_name", "", None),
        ("keepalives", "", None),
        ("keepalives_idle", "", None),
        ("keepalives_interval", "", None),
        ("keepalives_count", "", None),
        ("tcp_user_timeout", "", None),
        ("sslmode", "PGSSLMODE", "prefer"),
        ("sslnegotiation", "PGSSLNEGOTIATION", "postgres"),
        ("sslcompression", "PGSSLCOMPRESSION", "0"),
        ("sslcert", "PGSSLCERT", None),
        ("sslkey", "PGSSLKEY", None),
        ("sslcertmode", "PGSSLCERTMODE", None),
        ("sslpassword", "", None),
        ("sslrootcert", "PGSSLROOTCERT", None),
        ("sslcrl", "PGSSLCRL", None),
        ("sslcrldir", "PGSSLCRLDIR", None),
        ("sslsni", "PGSSLSNI", "1"),
        ("requirepeer", "PGREQUIREPEER", None),
        ("require_auth", "PGREQUIREAUTH", None),
        ("min_protocol_version", "PGMINPROTOCOLVERSION", None),
        ("max_protocol_version", "PGMAXPROTOCOLVERSION", None),
        ("ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION", "TLSv1.2"),
        ("ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION", None),
        ("gssencmode", "PGGSSENCMODE", "disable"),
        ("krbsrvname", "PGKRBSRVNAME", "postgres"),
        ("gsslib", "PGGSSLIB", None),
        ("gssdelegation", "PGGSSDELEGATION", "0"),
        ("replication", "", None),
        ("target_session_attrs", "PGTARGETSESSIONATTRS", "any"),
        ("load_balance_hosts", "PGLOADBALANCEHOSTS", "disable"),
        ("scram_client_key", "", None),
        ("scram_server_key", "", None),
        ("oauth_issuer", "", None),
        ("oauth_client_id", "", None),
        ("oauth_client_secret", "", None),
        ("oauth_scope", "", None),
        ("sslkeylogfile", "", None),
    ]
]
_PARAMS_BY_KEYWORD = {param.keyword: param for param in _PARAM_DEFS}
_KEYWORD_ORDER = {param.keyword: index for index, param in enumerate(_PARAM_DEFS)}

# libpq's default when connect_timeout is unset or not positive (the OS's TCP timeout).
_DEFAULT_CONNECT_TIMEOUT = 130

_URI_PREFIXES = ("postgresql://", "postgres://")


# -- public API (psycopg.conninfo) ------------------------------------------------------------


def make_conninfo(conninfo: str = "", **kwargs: ConnParam) -> str:
    """Merge a connection string and keyword parameters (which win) into one string.

    Parameters set to None are dropped. Raises ProgrammingError on an invalid string.
    """
    if not conninfo and not kwargs:
        return ""
    if not kwargs:
        # Nothing to merge: check the string but return it untouched.
        _parse_conninfo(conninfo)
        return str(conninfo)
    params: dict[str, Any] = {k: v for k, v in kwargs.items() if v is not None}
    if conninfo:
        merged = conninfo_to_dict(conninfo)
        merged.update(params)
        params = merged
    result = " ".join(f"{key}={_param_escape(str(value))}" for key, value in params.items())
    _parse_conninfo(result)
    return result


def conninfo_to_dict(conninfo: str = "", **kwargs: ConnParam) -> ConnDict:
    """The parameters of a connection string as a dict, updated with ``kwargs`` not None.

    Raises ProgrammingError if the string is not valid.
    """
    params: ConnDict = {key: _strict_text(value) for key, value in _parse_conninfo(conninfo).items()}
    for key, value in kwargs.items():
        if value is not None:
            params[key] = value
    return params


def _strict_text(value: str) -> str:
    """``value``, raising UnicodeDecodeError if percent-decoding produced invalid UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8")
    return value


def timeout_from_conninfo(params: Mapping[str, Any]) -> int:
    """The connection timeout in seconds, by libpq's rules (at least 2; unset: 130)."""
    value: Any = get_param(params, "connect_timeout")
    if value is None:
        value = _DEFAULT_CONNECT_TIMEOUT
    try:
        timeout = int(float(value))
    except Exception:
        raise e.ProgrammingError(f"bad value for connect_timeout: {value!r}") from None
    if timeout <= 0:
        timeout = _DEFAULT_CONNECT_TIMEOUT
    elif timeout < 2:
        timeout = 2
    return timeout


def get_param(params: Mapping[str, Any], name: str) -> str | None:
    """A parameter's value from ``params``, else from its environment variable."""
    if name in params:
        return str(params[name])
    param = _PARAMS_BY_KEYWORD.get(name)
    if param is None or not param.envvar:
        return None
    return os.environ.get(param.envvar)


def get_param_def(keyword: str) -> ParamDef | None:
    """The definition (environment variable, compiled default) of a keyword."""
    return _PARAMS_BY_KEYWORD.get(keyword)


def split_attempts(params: Mapping[str, Any]) -> list[ConnDict]:
    """One set of parameters per host when ``host``/``hostaddr``/``port`` list several."""

    def values(key: str) -> list[str]:
        value = get_param(params, key)
        return value.split(",") if value else []

    hosts = values("host")
    hostaddrs = values("hostaddr")
    ports = values("port")
    if hosts and hostaddrs and len(hosts) != len(hostaddrs):
        raise e.OperationalError(
            f"could not match {len(hosts)} host names with {len(hostaddrs)} hostaddr values"
        )
    count = max(len(hosts), len(hostaddrs))
    if 1 < len(ports) != count:
        raise e.OperationalError(f"could not match {len(ports)} port numbers to {len(hosts)} hosts")
    if count <= 1:
        return [{**params}]
    if len(ports) == 1:
        ports *= count
    attempts = []
    for index in range(count):
        attempt = {**params}
        if hosts:
            attempt["host"] = hosts[index]
        if hostaddrs:
            attempt["hostaddr"] = hostaddrs[index]
        if ports:
            attempt["port"] = ports[index]
        attempts.append(attempt)
    return attempts


def conninfo_attempts(params: Mapping[str, Any]) -> list[ConnDict]:
    """The connection attempts to make, in order: one per host and resolved address.

    Resolves host names with the blocking resolver (like psycopg's sync version); raises
    OperationalError if no host resolves. Honours ``load_balance_hosts=random`` and
    ``target_session_attrs=prefer-standby``.
    """
    prefer_standby, params = _without_prefer_standby(params)
    attempts: list[ConnDict] = []
    last_error: e.OperationalError | None = None
    for attempt in split_attempts(params):
        lookup = _lookup_needed(attempt)
        try:
            if lookup is None:
                attempts.append(_with_ip_address(attempt))
            else:
                found = socket.getaddrinfo(*lookup, proto=socket.IPPROTO_TCP, type=socket.SOCK_STREAM)
                attempts.extend({**attempt, "hostaddr": item[4][0]} for item in found)
        except OSError as ex:
            last_error = _resolve_error(attempt, ex)
    return _ordered(params, attempts, last_error, prefer_standby)


async def conninfo_attempts_async(params: Mapping[str, Any]) -> list[ConnDict]:
    """``conninfo_attempts`` resolving host names with the event loop's resolver (as
    psycopg's async version: ``loop.getaddrinfo``, so the loop is not blocked)."""
    import asyncio

    loop = asyncio.get_running_loop()
    prefer_standby, params = _without_prefer_standby(params)
    attempts: list[ConnDict] = []
    last_error: e.OperationalError | None = None
    for attempt in split_attempts(params):
        lookup = _lookup_needed(attempt)
        try:
            if lookup is None:
                attempts.append(_with_ip_address(attempt))
            else:
                found = await loop.getaddrinfo(*lookup, proto=socket.IPPROTO_TCP, type=socket.SOCK_STREAM)
                attempts.extend({**attempt, "hostaddr": item[4][0]} for item in found)
        except OSError as ex:
            last_error = _resolve_error(attempt, ex)
    return _ordered(params, attempts, last_error, prefer_standby)


def lookup_needed(params: Mapping[str, Any]) -> bool:
    """Whether :func:`conninfo_attempts` would ask the resolver about a host name."""
    return any(_lookup_needed(attempt) is not None for attempt in split_attempts(params))


def _without_prefer_standby(params: Mapping[str, Any]) -> tuple[bool, Mapping[str, Any]]:
    if get_param(params, "target_session_attrs") != "prefer-standby":
        return False, params
    return True, {k: v for k, v in params.items() if k != "target_session_attrs"}


def _lookup_needed(params: ConnDict) -> tuple[str, str] | None:
    """(host, port) to resolve for this attempt, or None if it stands as it is (a Unix
    socket, a hostaddr given, an IP address, no host)."""
    host = get_param(params, "host")
    if not host or host.startswith("/") or host[1:2] == ":":
        return None  # a Unix socket directory (or a Windows path), or nothing to resolve
    if get_param(params, "hostaddr") or _is_ip_address(host):
        return None
    return host, get_param(params, "port") or "5432"


def _with_ip_address(params: ConnDict) -> ConnDict:
    host = get_param(params, "host")
    if not host or host.startswith("/") or host[1:2] == ":":
        # As psycopg: a second character ":" reads as a Windows path, so "::1" (and any
        # IPv6 address so written) stays a host name for libpq to look up.
        return params
    if not get_param(params, "hostaddr") and _is_ip_address(host):
        return {**params, "hostaddr": host}
    return params


def _resolve_error(attempt: ConnDict, ex: OSError) -> e.OperationalError:
    error = e.OperationalError(f"failed to resolve host {attempt.get('host')!r}: {ex}")
    logger.debug("%s", error)
    return error


def _ordered(
    params: Mapping[str, Any],
    attempts: list[ConnDict],
    last_error: e.OperationalError | None,
    prefer_standby: bool,
) -> list[ConnDict]:
    if not attempts:
        assert last_error is not None
        raise last_error
    if get_param(params, "load_balance_hosts") == "random":
        shuffle(attempts)
    if prefer_standby:
        attempts = [{**a, "target_session_attrs": "standby"} for a in attempts] + attempts
    return attempts


def _is_ip_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


# -- escaping ---------------------------------------------------------------------------------

_NEEDS_BACKSLASH = re.compile(r"([\\'])")
_SPACE = re.compile(r"\s")


def _param_escape(value: str) -> str:
    """A value as written in a ``key=value`` string: backslash-escaped, quoted if spaced."""
    if not value:
        return "''"
    value = _NEEDS_BACKSLASH.sub(r"\\\1", value)
    if _SPACE.search(value):
        value = "'" + value + "'"
    return value


# -- parsing (libpq's conninfo_parse and conninfo_uri_parse) ----------------------------------


class _ParseError(Exception):
    """A libpq parse failure; the message is libpq's (with its trailing newline)."""


def _parse_conninfo(conninfo: str) -> dict[str, str]:
    """The parameters of a connection string, in libpq's keyword order."""
    # libpq reads a C string: whatever follows a NUL is not seen.
    conninfo = conninfo.split("\x00", 1)[0]
    try:
        if conninfo.startswith(_URI_PREFIXES):
            found = _parse_uri(conninfo)
        else:
            found = _parse_pairs(conninfo)
    except _ParseError as ex:
        raise e.ProgrammingError(str(ex)) from None
    return {key: found[key] for key in sorted(found, key=_KEYWORD_ORDER.__getitem__)}


def _store(params: dict[str, str], keyword: str, value: str) -> bool:
    """Set a parameter; False if the keyword is unknown."""
    if keyword == "requiressl":  # obsolete, still translated by libpq
        keyword, value = "sslmode", ("require" if value.startswith("1") else "prefer")
    if keyword not in _PARAMS_BY_KEYWORD:
        return False
    params[keyword] = value
    return True


# C's isspace() in the C locale: what libpq skips between pairs.
_C_SPACE = " \t\n\v\f\r"


def _parse_pairs(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    pos, size = 0, len(text)
    while pos < size:
        if text[pos] in _C_SPACE:
            pos += 1
            continue
        start = pos
        while pos < size and text[pos] != "=" and text[pos] not in _C_SPACE:
            pos += 1
        name = text[start:pos]
        while pos < size and text[pos] in _C_SPACE:
            pos += 1
        if pos >= size or text[pos] != "=":
            raise _ParseError(f'missing "=" after "{name}" in connection info string\n')
        pos += 1
        while pos < size and text[pos] in _C_SPACE:
            pos += 1
        value: list[str] = []
        if pos < size and text[pos] == "'":
            pos += 1
            while True:
                if pos >= size:
                    raise _ParseError("unterminated quoted string in connection info string\n")
                char = text[pos]
                if char == "\\":
                    pos += 1
                    if pos < size:
                        value.append(text[pos])
                        pos += 1
                    continue
                pos += 1
                if char == "'":
                    break
                value.append(char)
        else:
            while pos < size:
                char = text[pos]
                if char in _C_SPACE:
                    pos += 1
                    break
                if char == "\\":
                    pos += 1
                    if pos < size:
                        value.append(text[pos])
                        pos += 1
                else:
                    value.append(char)
                    pos += 1
        if not _store(params, name, "".join(value)):
            raise _ParseError(f'invalid connection option "{name}"\n')
    return params


def _parse_uri(uri: str) -> dict[str, str]:
    params: dict[str, str] = {}
    prefix = next(p for p in _URI_PREFIXES if uri.startswith(p))
    text = uri
    pos = len(prefix)
    size = len(text)

    def store_decoded(keyword: str, raw: str) -> None:
        _store(params, keyword, _uri_decode(raw))

    # Credentials: "user[:password]@" if an "@" comes before any "/".
    look = pos
    while look < size and text[look] not in "@/":
        look += 1
    if look < size and text[look] == "@":
        end = pos
        while text[end] not in ":@":
            end += 1
        if end > pos:
            store_decoded("user", text[pos:end])
        if text[end] == ":":
            password_end = text.index("@", end)
            if password_end > end + 1:
                store_decoded("password", text[end + 1 : password_end])
            end = password_end
        pos = end + 1

    # Hosts: "host[:port]" items separated by commas; IPv6 addresses in brackets.
    hosts: list[str] = []
    ports: list[str] = []
    terminator = ""
    while True:
        if pos < size and text[pos] == "[":
            start = pos + 1
            end = text.find("]", start)
            if end < 0:
                raise _ParseError(
                    "end of string reached when looking for matching "
                    f'"]" in IPv6 host address in URI: "{uri}"\n'
                )
            if end == start:
                raise _ParseError(f'IPv6 host address may not be empty in URI: "{uri}"\n')
            host = text[start:end]
            pos = end + 1
            if pos < size and text[pos] not in ":/?,":
                # libpq counts bytes (of the UTF-8 text), not characters, and shows one
                # byte: half a character, which psycopg decodes as U+FFFD.
                where = len(text[:pos].encode("utf-8", "surrogatepass")) + 1
                shown = text[pos] if text[pos].isascii() else "\ufffd"
                raise _ParseError(
                    f'unexpected character "{shown}" at position {where} in URI '
                    f'(expected ":" or "/"): "{uri}"\n'
                )
        else:
            start = pos
            while pos < size and text[pos] not in ":/?,":
                pos += 1
            host = text[start:pos]
        hosts.append(host)
        terminator = text[pos] if pos < size else ""
        if terminator == ":":
            start = pos + 1
            pos = start
            while pos < size and text[pos] not in "/?,":
                pos += 1
            ports.append(text[start:pos])
            terminator = text[pos] if pos < size else ""
        else:
            ports.append("")
        if terminator != ",":
            break
        pos += 1
    host_list = ",".join(hosts)
    # One port entry per host, empty where none was given ("h1:5,h2" -> "5,").
    port_list = ",".join(ports)
    if host_list:
        store_decoded("host", host_list)
    if port_list:
        store_decoded("port", port_list)

    if terminator and terminator != "?":
        start = pos + 1
        end = text.find("?", start)
        end = size if end < 0 else end
        if end > start:
            store_decoded("dbname", text[start:end])
        pos = end
        terminator = "?" if end < size else ""
    if terminator:
        _parse_uri_query(text[pos + 1 :], params)
    return params


def _parse_uri_query(query: str, params: dict[str, str]) -> None:
    pos, size = 0, len(query)
    while pos < size:
        start = pos
        equals = -1
        while True:
            char = query[pos] if pos < size else ""
            if char == "=":
                if equals >= 0:
                    raise _ParseError(
                        f'extra key/value separator "=" in URI query parameter: "{query[start:equals]}"\n'
                    )
                equals = pos
                pos += 1
            elif char in ("&", ""):
                if equals < 0:
                    raise _ParseError(
                        f'missing key/value separator "=" in URI query parameter: "{query[start:pos]}"\n'
                    )
                break
            else:
                pos += 1
        keyword = _uri_decode(query[start:equals])
        value = _uri_decode(query[equals + 1 : pos])
        pos += 1  # past the "&"
        if keyword == "ssl" and value == "true":  # JDBC's spelling
            keyword, value = "sslmode", "require"
        if not _store(params, keyword, value):
            raise _ParseError(f'invalid URI query parameter: "{keyword}"\n')


_HEX = "0123456789abcdefABCDEF"


def _uri_decode(text: str) -> str:
    """Percent-decoding as libpq does it.

    "+" stays "+", "%00" is refused, and spaces may only lead or trail (they are dropped):
    a space inside a value must be written %20.
    """
    out = bytearray()
    pos, size = 0, len(text)
    while pos < size and text[pos] == " ":
        pos += 1
    while pos < size:
        char = text[pos]
        if char == " ":
            if text[pos:].strip(" "):
                raise _ParseError(
                    f'unexpected spaces found in "{text}", use percent-encoded spaces (%20) instead\n'
                )
            break
        if char != "%":
            out += char.encode()
            pos += 1
            continue
        digits = text[pos + 1 : pos + 3]
        if len(digits) < 2 or digits[0] not in _HEX or digits[1] not in _HEX:
            raise _ParseError(f'invalid percent-encoded token: "{text}"\n')
        byte = int(digits, 16)
        if byte == 0:
            raise _ParseError(f'forbidden value %00 in percent-encoded value: "{text}"\n')
        out.append(byte)
        pos += 3
    # Bytes that are not UTF-8 are kept (as surrogates) like libpq keeps them: the error
    # comes only when a value is read as text (conninfo_to_dict), as with psycopg.
    return out.decode("utf-8", "surrogateescape")


# -- resolution for connecting ----------------------------------------------------------------


def effective_params(params: Mapping[str, Any]) -> dict[str, str]:
    """The parameters a connection uses, with libpq's precedence.

    Explicit parameters, then the service's (``service``/``PGSERVICE`` in
    ``PGSERVICEFILE`` or ``~/.pg_service.conf``, then ``PGSYSCONFDIR/pg_service.conf``),
    then environment variables, then compiled defaults; ``user`` defaults to the OS user,
    ``dbname`` to the user; ``password`` may come from the password file
    (``passfile``/``PGPASSFILE`` or ``~/.pgpass``) for the first host. ``host`` stays
    unset if nothing sets it (libpq's values, as its PQconninfo lists them; the socket
    directory it then uses is :func:`default_host`).
    """
    return resolve_params(params)[0]


def resolve_params(params: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    """:func:`effective_params`, and the password file its password came from (None if it
    did not come from one: libpq names the file when the server refuses that password)."""
    result = {k: str(v) for k, v in params.items() if v is not None}
    service = result.get("service") or os.environ.get("PGSERVICE")
    if service:
        for key, value in _service_params(service).items():
            result.setdefault(key, value)
    sslmode_defaulted = False
    for param in _PARAM_DEFS:
        if param.keyword in result:
            continue
        if param.envvar and (env := os.environ.get(param.envvar)) is not None:
            result[param.keyword] = env
        elif param.compiled is not None:
            result[param.keyword] = param.compiled
            sslmode_defaulted |= param.keyword == "sslmode"
    if sslmode_defaulted and result.get("sslrootcert") == "system":
        # libpq's default sslmode is verify-full then (a weaker one given is refused).
        result["sslmode"] = "verify-full"
    if not result.get("user"):
        result["user"] = _os_user()
    if not result.get("dbname"):
        result["dbname"] = result["user"]
    if "password" in result:
        return result, None
    password = _password_from_file(result)
    if password is None:
        return result, None
    result["password"] = password
    return result, _passfile_path(result)


def _passfile_path(params: Mapping[str, str]) -> str:
    return params.get("passfile") or os.path.expanduser("~/.pgpass")


def default_host() -> str:
    """The Unix socket directory libpq connects to when no host is given."""
    # The one libpq was built with: Debian's packages use /var/run/postgresql, upstream
    # builds /tmp.
    return "/var/run/postgresql" if os.path.isdir("/var/run/postgresql") else "/tmp"


def connection_parameters(effective: Mapping[str, str]) -> dict[str, str]:
    """What psycopg's ``ConnectionInfo.get_parameters()`` shows of a connection made with
    ``effective`` (:func:`effective_params`): libpq's values in its keyword order, without
    the password and the values equal to libpq's compiled defaults (psycopg also leaves out
    ``channel_binding=prefer`` and the default password file)."""
    values = dict(effective)
    # libpq sets sslcertmode after reading the options (it has no compiled default).
    values.setdefault("sslcertmode", "allow")
    hidden = {param.keyword: param.compiled for param in _PARAM_DEFS if param.compiled is not None}
    hidden["passfile"] = os.path.join(os.path.expanduser("~"), ".pgpass")
    return {
        key: values[key]
        for key in sorted(values, key=lambda k: _KEYWORD_ORDER.get(k, len(_KEYWORD_ORDER)))
        if key != "password" and key in _KEYWORD_ORDER and values[key] != hidden.get(key)
    }


def _os_user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or ""


def _service_params(service: str) -> dict[str, str]:
    """The parameters of a service, from the first service file that defines it."""
    files = []
    if user_file := os.environ.get("PGSERVICEFILE"):
        files.append(user_file)
    else:
        files.append(os.path.expanduser("~/.pg_service.conf"))
    sysconf = os.environ.get("PGSYSCONFDIR", "/etc/postgresql-common")
    files.append(os.path.join(sysconf, "pg_service.conf"))
    for path in files:
        try:
            with open(path, encoding="utf-8") as file:
                found = _read_service(file.read(), service, path)
        except FileNotFoundError:
            continue
        if found is not None:
            return found
    raise e.OperationalError(f'definition of service "{service}" not found')


def _read_service(text: str, service: str, path: str) -> dict[str, str] | None:
    params: dict[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if params is not None:
                break  # the service's section ended
            if line.endswith("]") and line[1:-1] == service:
                params = {}
            continue
        if params is None:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise e.OperationalError(f'syntax error in service file "{path}", line {number}')
        key = key.strip()
        if key == "service":
            raise e.OperationalError(
                f'nested "service" specifications not supported in service file "{path}", line {number}'
            )
        if key not in _PARAMS_BY_KEYWORD:
            raise e.OperationalError(f'syntax error in service file "{path}", line {number}')
        params[key] = value.strip()
    return params


def _password_from_file(params: Mapping[str, str]) -> str | None:
    """The password for the first host from the password file, if it has a matching line."""
    path = _passfile_path(params)
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            'password file "%s" has group or world access; permissions should be u=rw (0600) or less', path
        )
        return None
    host = params.get("host", "").split(",")[0]
    if not host or host.startswith("/"):
        host = "localhost"  # libpq matches Unix-socket connections as "localhost"
    port = params.get("port", "5432").split(",")[0] or "5432"
    wanted = (host, port, params.get("dbname", ""), params.get("user", ""))
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = file.read().splitlines()
    except OSError:
        return None
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _split_passfile_line(line)
        if len(fields) < 5:
            continue
        if all(field == "*" or field == want for field, want in zip(fields[:4], wanted, strict=True)):
            return fields[4]
    return None


def _split_passfile_line(line: str) -> list[str]:
    """``host:port:db:user:password`` with ``\\:`` and ``\\\\`` escapes."""
    fields: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ":" and len(fields) < 4:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields
