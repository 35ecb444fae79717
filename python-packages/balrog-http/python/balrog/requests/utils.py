"""The helpers of ``requests.utils`` that applications and the rest of this package use."""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import socket
import struct
import tempfile
import time
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlparse, urlunparse
from urllib.request import (
    getproxies,
    getproxies_environment,
    parse_http_list,
    proxy_bypass,
    proxy_bypass_environment,
)

from . import _uri, _urllib3
from .__version__ import __version__
from ._environ import snapshot_of
from ._internal_utils import HEADER_VALIDATORS, to_native_string, unicode_is_ascii
from .cookies import cookiejar_from_dict
from .exceptions import FileModeWarning, InvalidHeader, InvalidURL, UnrewindableBodyError
from .structures import CaseInsensitiveDict

__all__ = [
    "DEFAULT_ACCEPT_ENCODING",
    "DEFAULT_CA_BUNDLE_PATH",
    "DEFAULT_PORTS",
    "add_dict_to_cookiejar",
    "address_in_network",
    "check_header_validity",
    "default_headers",
    "default_user_agent",
    "dict_from_cookiejar",
    "dotted_netmask",
    "extract_zipped_paths",
    "from_key_val_list",
    "get_auth_from_url",
    "get_encoding_from_headers",
    "get_encodings_from_content",
    "get_environ_proxies",
    "get_netrc_auth",
    "get_unicode_from_response",
    "getproxies_environment",
    "guess_filename",
    "guess_json_utf",
    "is_ipv4_address",
    "is_valid_cidr",
    "iter_slices",
    "parse_dict_header",
    "parse_header_links",
    "parse_list_header",
    "prepend_scheme_if_needed",
    "proxy_bypass_environment",
    "requote_uri",
    "resolve_proxies",
    "rewind_body",
    "select_proxy",
    "set_environ",
    "should_bypass_proxies",
    "stream_decode_response_unicode",
    "super_len",
    "to_key_val_list",
    "to_native_string",
    "unicode_is_ascii",
    "unquote_header_value",
    "unquote_unreserved",
    "urldefragauth",
]

NETRC_FILES = (".netrc", "_netrc")
DEFAULT_PORTS = {"http": 80, "https": 443}
# balrog decodes all four natively, so it offers all four.
DEFAULT_ACCEPT_ENCODING = "gzip, deflate, br, zstd"


def _default_ca_bundle() -> str | None:
    try:
        import certifi
    except ImportError:
        return None
    return str(certifi.where())


DEFAULT_CA_BUNDLE_PATH = _default_ca_bundle()


def dict_to_sequence(d: Any) -> Any:
    if hasattr(d, "items"):
        d = d.items()
    return d


def super_len(o: Any) -> int:
    """How many bytes of ``o`` are left to send (0 when unknown)."""
    total_length = None
    current_position = 0
    if isinstance(o, str):
        o = o.encode("utf-8")
    if hasattr(o, "__len__"):
        total_length = len(o)
    elif hasattr(o, "len"):
        total_length = o.len
    elif hasattr(o, "fileno"):
        try:
            fileno = o.fileno()
        except (io.UnsupportedOperation, AttributeError):
            pass
        else:
            total_length = os.fstat(fileno).st_size
            if "b" not in getattr(o, "mode", "b"):
                warnings.warn(
                    "Requests has determined the content-length for this request using the binary "
                    "size of the file: however, the file has been opened in text mode (i.e. without "
                    "the 'b' flag in the mode). This may lead to an incorrect content-length.",
                    FileModeWarning,
                    stacklevel=2,
                )
    if hasattr(o, "tell"):
        try:
            current_position = o.tell()
        except OSError:
            # A pipe or socket: the length cannot be known.
            if total_length is not None:
                current_position = total_length
        else:
            if hasattr(o, "seek") and total_length is None:
                try:
                    o.seek(0, 2)
                    total_length = o.tell()
                    o.seek(current_position or 0)
                except OSError:
                    total_length = 0
    if total_length is None:
        total_length = 0
    return max(0, total_length - current_position)


_netrc_candidates: dict[tuple[Any, Any], tuple[str, ...]] = {}
# The last (environment snapshot, paths) pair: the snapshot is the same object while the
# environment is unchanged, which an identity test sees without hashing it.
_netrc_last: tuple[Any, tuple[str, ...]] = (None, ())


_netrc_env_snapshot = snapshot_of(("NETRC", "HOME"))


def _netrc_paths() -> tuple[str, ...]:
    global _netrc_last
    # Expanding "~" on every request is measurable; the answer only changes with the env.
    key = _netrc_env_snapshot()
    last_key, paths = _netrc_last
    if key is last_key:
        # The snapshot itself again: the environment has not changed.
        return paths
    paths = _netrc_candidates.get(key)
    if paths is None:
        netrc_file = os.environ.get("NETRC")
        candidates = (netrc_file,) if netrc_file is not None else tuple(f"~/{name}" for name in NETRC_FILES)
        try:
            paths = tuple(os.path.expanduser(candidate) for candidate in candidates)
        except KeyError:
            paths = ()
        _netrc_candidates[key] = paths
    # One tuple, assigned at once: another thread never pairs a key with other paths.
    _netrc_last = (key, paths)
    return paths


# path → (the file's identity, size and times, the parser, its parsed contents).
_netrc_files: dict[str, tuple[tuple[int, ...], Any, Any]] = {}
# A file changed less than this long ago may change again within the same timestamp tick
# (file systems stamp with a coarse clock): its times do not identify its contents yet.
_RACY_NS = 2_000_000_000


def _parsed_netrc(path: str, netrc: Any) -> Any:
    """``netrc(path)``, parsed again only when the file changed.

    requests reads the file on every request; the same answers come from a parse kept with
    the file's device, inode, size, mtime and ctime (a rewrite, replacement or chmod changes
    one of them), unless the file changed too recently for its times to be trusted.
    """
    st = os.stat(path)
    signature = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    cached = _netrc_files.get(path)
    # Keyed on the parser too: code (tests among it) may patch netrc.netrc.
    if cached is not None and cached[0] == signature and cached[1] is netrc:
        return cached[2]
    parsed = netrc(path)
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS:
        if len(_netrc_files) > 16:
            _netrc_files.clear()
        _netrc_files[path] = (signature, netrc, parsed)
    return parsed


def get_netrc_auth(url: str, raise_errors: bool = False) -> tuple[str, str] | None:
    """(login, password) for the URL's host from ~/.netrc (or $NETRC), if any."""
    paths = [path for path in _netrc_paths() if os.path.exists(path)]
    if not paths:
        return None
    try:
        from netrc import NetrcParseError, netrc
    except ImportError:
        return None
    try:
        host = urlparse(url).hostname or ""
    except ValueError:
        # A malformed URL: preparing it reports the problem, not the netrc lookup.
        return None
    for path in paths:
        try:
            found = _parsed_netrc(path, netrc).authenticators(host)
        except (NetrcParseError, OSError):
            if raise_errors:
                raise
            return None
        # A bare "default" entry gives ("", "", "") or None: no credentials at all.
        if found and any(found):
            login = 0 if found[0] else 1
            return (found[login] or "", found[2] or "")
        return None
    return None


def guess_filename(obj: Any) -> str | None:
    """The base name of a file object's name, if it has a usable one."""
    name = getattr(obj, "name", None)
    if name and isinstance(name, (str, bytes)) and name[0] != "<" and name[-1] != ">":
        return os.path.basename(name)  # type: ignore[return-value]
    return None


def from_key_val_list(value: Any) -> OrderedDict[Any, Any] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, bool, int)):
        raise ValueError("cannot encode objects that are not 2-tuples")
    return OrderedDict(value)


def to_key_val_list(value: Any) -> list[Any] | None:
    """A list of (key, value) pairs from a dict or an iterable of pairs."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, bool, int)):
        raise ValueError("cannot encode objects that are not 2-tuples")
    if isinstance(value, Mapping):
        value = value.items()
    return list(value)


def parse_list_header(value: str) -> list[str]:
    """Parse a comma-separated header list (quoted strings may contain commas)."""
    result = []
    for item in parse_http_list(value):
        if item[:1] == item[-1:] == '"':
            item = unquote_header_value(item[1:-1])
        result.append(item)
    return result


def parse_dict_header(value: str) -> dict[str, str | None]:
    """Parse ``key=value, key2="quoted"`` pairs; a key without value maps to None."""
    result: dict[str, str | None] = {}
    for item in parse_http_list(value):
        if "=" not in item:
            result[item] = None
            continue
        name, value_ = item.split("=", 1)
        if value_[:1] == value_[-1:] == '"':
            value_ = unquote_header_value(value_[1:-1])
        result[name] = value_
    return result


def unquote_header_value(value: str, is_filename: bool = False) -> str:
    """Undo browser-style quoting of a header value."""
    if value and value[0] == value[-1] == '"':
        value = value[1:-1]
        # UNC paths (\\server\share) keep their double backslash.
        if not is_filename or value[:2] != "\\\\":
            return value.replace("\\\\", "\\").replace('\\"', '"')
    return value


def dict_from_cookiejar(cj: Any) -> dict[str, Any]:
    return {cookie.name: cookie.value for cookie in cj}


def add_dict_to_cookiejar(cj: Any, cookie_dict: dict[str, Any]) -> Any:
    return cookiejar_from_dict(cookie_dict, cj)


def extract_zipped_paths(path: str) -> str:
    """A real file for ``path``, extracting it first when it lies inside a zip archive.

    A CA bundle shipped inside a zipped application (zipimport) has no path OpenSSL or
    rustls can open; requests extracts it to the temporary directory, and so do we.
    """
    if os.path.exists(path):
        return path
    archive, member = os.path.split(path)
    while archive and not os.path.exists(archive):
        archive, prefix = os.path.split(archive)
        if not prefix:
            # The root of the drive: nothing on the way up exists.
            break
        member = "/".join([prefix, member])
    if not zipfile.is_zipfile(archive):
        return path
    with zipfile.ZipFile(archive) as zipped:
        if member not in zipped.namelist():
            return path
        target = os.path.join(tempfile.gettempdir(), *member.split("/"))
        if not os.path.exists(target):
            with atomic_open(target) as handle:
                handle.write(zipped.read(member))
    return target


@contextlib.contextmanager
def atomic_open(filename: str) -> Iterator[Any]:
    """Write a file under a temporary name and move it into place once complete."""
    folder = os.path.dirname(filename) or "."
    os.makedirs(folder, exist_ok=True)
    handle_fd, temp_name = tempfile.mkstemp(dir=folder)
    try:
        with os.fdopen(handle_fd, "wb") as handle:
            yield handle
        os.replace(temp_name, filename)
    except BaseException:
        os.remove(temp_name)
        raise


def get_unicode_from_response(r: Any) -> str:
    """The body as text (deprecated in requests; ``Response.text`` is the way)."""
    warnings.warn(
        "In requests 3.0, get_unicode_from_response will be removed. For more information, "
        "please see the discussion on issue #2266. (This warning should only appear once.)",
        DeprecationWarning,
        stacklevel=2,
    )
    encoding = get_encoding_from_headers(r.headers)
    if encoding:
        try:
            return str(r.content, encoding)
        except UnicodeError:
            pass
    try:
        return str(r.content, encoding or "utf-8", errors="replace")
    except (LookupError, TypeError):
        return str(r.content, errors="replace")


def get_encodings_from_content(content: str) -> list[str]:
    """Charsets declared in an HTML/XML document (deprecated in requests, kept for callers)."""
    charset_re = re.compile(r'<meta.*?charset=["\']*(.+?)["\'>]', flags=re.I)
    pragma_re = re.compile(r'<meta.*?content=["\']*;?charset=(.+?)["\'>]', flags=re.I)
    xml_re = re.compile(r'^<\?xml.*?encoding=["\']*(.+?)["\'>]')
    return charset_re.findall(content) + pragma_re.findall(content) + xml_re.findall(content)


def _parse_content_type_header(header: str) -> tuple[str, dict[str, Any]]:
    tokens = header.split(";")
    content_type, params = tokens[0].strip(), tokens[1:]
    params_dict: dict[str, Any] = {}
    strip_chars = "\"' "
    for param in params:
        param = param.strip()
        index = param.find("=")
        # A parameter without "=" carries no value: requests drops it.
        if index != -1:
            key = param[:index].strip(strip_chars)
            params_dict[key.lower()] = param[index + 1 :].strip(strip_chars)
    return content_type, params_dict


def get_encoding_from_headers(headers: Mapping[str, str]) -> str | None:
    """The charset of a Content-Type, with requests' defaults for text and JSON."""
    content_type = headers.get("content-type")
    if not content_type:
        return None
    content_type, params = _parse_content_type_header(content_type)
    if "charset" in params:
        return str(params["charset"]).strip("'\"")
    if "text" in content_type:
        return "ISO-8859-1"
    if "application/json" in content_type:
        # RFC 4627: JSON's default encoding is UTF-8.
        return "utf-8"
    return None


def stream_decode_response_unicode(iterator: Iterable[bytes], r: Any) -> Iterator[Any]:
    """Decode a stream of byte chunks with the response's encoding."""
    if r.encoding is None:
        yield from iterator
        return
    decoder = codecs.getincrementaldecoder(r.encoding)(errors="replace")
    for chunk in iterator:
        text = decoder.decode(chunk)
        if text:
            yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def iter_slices(string: Any, slice_length: int | None) -> Iterator[Any]:
    """Consecutive slices of ``string`` of ``slice_length`` (all of it when None/<=0)."""
    pos = 0
    if slice_length is None or slice_length <= 0:
        slice_length = len(string)
    while pos < len(string):
        yield string[pos : pos + slice_length]
        pos += slice_length


# The characters RFC 3986 calls unreserved: never need percent-encoding.
UNRESERVED_SET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def unquote_unreserved(uri: str) -> str:
    """Decode percent-escapes of unreserved characters only; reject malformed escapes."""
    parts = uri.split("%")
    for i in range(1, len(parts)):
        h = parts[i][0:2]
        if len(h) == 2 and h.isalnum():
            try:
                c = chr(int(h, 16))
            except ValueError:
                raise InvalidURL(f"Invalid percent-escape sequence: '{h}'") from None
            if c in UNRESERVED_SET:
                parts[i] = c + parts[i][2:]
            else:
                parts[i] = f"%{parts[i]}"
        else:
            parts[i] = f"%{parts[i]}"
    return "".join(parts)


_SAFE_WITH_PERCENT = "!#$%&'()*+,/:;=?@[]~"
_SAFE_WITHOUT_PERCENT = "!#$&'()*+,/:;=?@[]~"


def requote_uri(uri: str) -> str:
    """Quote what must be quoted in a URI, keeping existing escapes (idempotent)."""
    try:
        return quote(unquote_unreserved(uri), safe=_SAFE_WITH_PERCENT)
    except InvalidURL:
        # Stray '%' signs: quote them too.
        return quote(uri, safe=_SAFE_WITHOUT_PERCENT)


def address_in_network(ip: str, net: str) -> bool:
    ipaddr = struct.unpack("=L", socket.inet_aton(ip))[0]
    netaddr, bits = net.split("/")
    netmask = struct.unpack("=L", socket.inet_aton(dotted_netmask(int(bits))))[0]
    network = struct.unpack("=L", socket.inet_aton(netaddr))[0] & netmask
    return (ipaddr & netmask) == (network & netmask)


def dotted_netmask(mask: int) -> str:
    bits = 0xFFFFFFFF ^ (1 << 32 - mask) - 1
    return socket.inet_ntoa(struct.pack(">I", bits))


def is_ipv4_address(string_ip: str) -> bool:
    try:
        socket.inet_aton(string_ip)
    except OSError:
        return False
    return True


def is_valid_cidr(string_network: str) -> bool:
    if string_network.count("/") != 1:
        return False
    try:
        mask = int(string_network.split("/")[1])
    except ValueError:
        return False
    if mask < 1 or mask > 32:
        return False
    try:
        socket.inet_aton(string_network.split("/")[0])
    except OSError:
        return False
    return True


@contextlib.contextmanager
def set_environ(env_name: str, value: str | None) -> Iterator[None]:
    """Set an environment variable for the duration of the block (None: leave it alone)."""
    changed = value is not None
    if changed:
        old = os.environ.get(env_name)
        os.environ[env_name] = value  # type: ignore[assignment]
    try:
        yield
    finally:
        if changed:
            if old is None:
                del os.environ[env_name]
            else:
                os.environ[env_name] = old


def should_bypass_proxies(url: str, no_proxy: str | None) -> bool:
    """Whether ``url`` must not go through a proxy (no_proxy argument or environment)."""

    def env(key: str) -> str | None:
        return os.environ.get(key) or os.environ.get(key.upper())

    no_proxy_arg = no_proxy
    if no_proxy is None:
        no_proxy = env("no_proxy")
    parsed = urlparse(url)
    if parsed.hostname is None:
        return True
    if no_proxy:
        hosts = (host for host in no_proxy.replace(" ", "").split(",") if host)
        if is_ipv4_address(parsed.hostname):
            for proxy_ip in hosts:
                if is_valid_cidr(proxy_ip):
                    if address_in_network(parsed.hostname, proxy_ip):
                        return True
                elif parsed.hostname == proxy_ip:
                    return True
        else:
            host_with_port = parsed.hostname
            if parsed.port:
                host_with_port += f":{parsed.port}"
            for host in hosts:
                # Whole labels only: "localhost" must not match "prelocalhost".
                host = host.lstrip(".")
                if parsed.hostname == host or host_with_port == host:
                    return True
                host = "." + host
                if parsed.hostname.endswith(host) or host_with_port.endswith(host):
                    return True
    with set_environ("no_proxy", no_proxy_arg):
        try:
            bypass = proxy_bypass(parsed.hostname)
        except (TypeError, socket.gaierror):
            bypass = False
    return bool(bypass)


def get_environ_proxies(url: str, no_proxy: str | None = None) -> dict[str, str]:
    """The proxies the environment sets for ``url`` ({} when it is bypassed)."""
    if should_bypass_proxies(url, no_proxy=no_proxy):
        return {}
    return getproxies()


def select_proxy(url: str, proxies: Mapping[str, str] | None) -> str | None:
    """The proxy for ``url``: most specific key first (scheme://host, scheme, all://host, all)."""
    proxies = proxies or {}
    parts = urlparse(url)
    if parts.hostname is None:
        return proxies.get(parts.scheme, proxies.get("all"))
    keys = (
        parts.scheme + "://" + parts.hostname,
        parts.scheme,
        "all://" + parts.hostname,
        "all",
    )
    for key in keys:
        if key in proxies:
            return proxies[key]
    return None


def resolve_proxies(
    request: Any, proxies: Mapping[str, str] | None, trust_env: bool = True
) -> dict[str, str]:
    """The proxies for a request: the given ones, plus the environment's when trusted."""
    proxies = proxies if proxies is not None else {}
    url = request.url
    scheme = urlparse(url).scheme
    no_proxy = proxies.get("no_proxy")
    new_proxies = dict(proxies)
    if trust_env and not should_bypass_proxies(url, no_proxy=no_proxy):
        environ_proxies = get_environ_proxies(url, no_proxy=no_proxy)
        proxy = environ_proxies.get(scheme, environ_proxies.get("all"))
        if proxy:
            new_proxies.setdefault(scheme, proxy)
    return new_proxies


def default_user_agent(name: str = "python-requests") -> str:
    return f"{name}/{__version__}"


def default_headers() -> CaseInsensitiveDict:
    return CaseInsensitiveDict(
        {
            "User-Agent": default_user_agent(),
            "Accept-Encoding": DEFAULT_ACCEPT_ENCODING,
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
    )


def parse_header_links(value: str) -> list[dict[str, str]]:
    """Parse a Link header: ``<url>; rel=next, <url2>; rel=last`` → list of dicts."""
    links: list[dict[str, str]] = []
    replace_chars = " '\""
    value = value.strip(replace_chars)
    if not value:
        return links
    for val in re.split(", *<", value):
        try:
            url, params = val.split(";", 1)
        except ValueError:
            url, params = val, ""
        link = {"url": url.strip("<> '\"")}
        for param in params.split(";"):
            try:
                key, value_ = param.split("=")
            except ValueError:
                break
            link[key.strip(replace_chars)] = value_.strip(replace_chars)
        links.append(link)
    return links


_NULL = b"\x00"
_NULL2 = _NULL * 2
_NULL3 = _NULL * 3


def guess_json_utf(data: bytes) -> str | None:
    """The UTF flavour of a JSON document, from its BOM or where its NUL bytes are."""
    sample = data[:4]
    if sample in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        return "utf-32"
    if sample[:3] == codecs.BOM_UTF8:
        return "utf-8-sig"
    if sample[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    nullcount = sample.count(_NULL)
    if nullcount == 0:
        return "utf-8"
    if nullcount == 2:
        if sample[::2] == _NULL2:
            return "utf-16-be"
        if sample[1::2] == _NULL2:
            return "utf-16-le"
    if nullcount == 3:
        if sample[:3] == _NULL3:
            return "utf-32-be"
        if sample[1:] == _NULL3:
            return "utf-32-le"
    return None


def prepend_scheme_if_needed(url: str, new_scheme: str) -> str:
    """Give a scheme-less URL (``host:port``) the scheme ``new_scheme``; the rest as urllib3's
    ``parse_url`` reads it (a URL it cannot read raises its ``LocationParseError``)."""
    try:
        scheme, userinfo, host, port, path, query, fragment = _uri.parse(url)
    except _uri.ParseError as exc:
        raise _urllib3.make("LocationParseError", exc.args[0], location=url) from None
    netloc = f"{host}:{port}" if port else host
    if not netloc:
        # requests keeps an old urlparse workaround: no host, so the path stands in for it.
        netloc, path = path, netloc
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return urlunparse((scheme or new_scheme, netloc, path, "", query, fragment))


def get_auth_from_url(url: str) -> tuple[str, str]:
    """The (user, password) in a URL's userinfo, percent-decoded ("", "" when absent)."""
    parsed = urlparse(url)
    try:
        return (unquote(parsed.username), unquote(parsed.password))  # type: ignore[arg-type]
    except (AttributeError, TypeError):
        return ("", "")


_VALID_HEADER_NAME_STR, _VALID_HEADER_VALUE_STR = HEADER_VALIDATORS[str]
_VALID_HEADER_NAME_BYTES, _VALID_HEADER_VALUE_BYTES = HEADER_VALIDATORS[bytes]


_valid_headers: set[tuple[Any, Any]] = set()


def check_header_validity(header: tuple[Any, Any]) -> None:
    """Raise InvalidHeader for names/values requests refuses (types, CR/LF, leading space)."""
    try:
        if header in _valid_headers:
            return
    except TypeError:  # an unhashable value: checked (and refused) below
        pass
    name, value = header
    _check_part(header, name, 0)
    _check_part(header, value, 1)
    # Sessions send the same headers on every request: remember the good ones.
    if type(name) is str and type(value) is str:
        if len(_valid_headers) > 1024:
            _valid_headers.clear()
        _valid_headers.add((name, value))


def _check_part(header: tuple[Any, Any], part: Any, index: int) -> None:
    if isinstance(part, str):
        pattern = _VALID_HEADER_VALUE_STR if index else _VALID_HEADER_NAME_STR
    elif isinstance(part, bytes):
        pattern = _VALID_HEADER_VALUE_BYTES if index else _VALID_HEADER_NAME_BYTES
    else:
        kind = "value" if index else "name"
        raise InvalidHeader(
            f"Header part ({part!r}) from {header} must be of type str or bytes, not {type(part)}"
            if index
            else f"Header {kind} ({part!r}) from {header} must be of type str or bytes, not {type(part)}"
        )
    if not pattern.match(part):  # type: ignore[arg-type]
        kind = "value" if index else "name"
        raise InvalidHeader(
            "Invalid leading whitespace, reserved character(s), or return character(s) "
            f"in header {kind}: {part!r}"
        )


def urldefragauth(url: str) -> str:
    """The URL without its fragment and userinfo."""
    parsed = urlparse(url)
    netloc, path = parsed.netloc, parsed.path
    if not netloc:
        netloc, path = path, netloc
    netloc = netloc.rsplit("@", 1)[-1]
    return urlunparse((parsed.scheme, netloc, path, parsed.params, parsed.query, ""))


def rewind_body(prepared_request: Any) -> None:
    """Seek a file body back to where it started, for a resend (redirect, auth retry)."""
    body_seek = getattr(prepared_request.body, "seek", None)
    if body_seek is not None and isinstance(prepared_request._body_position, int):
        try:
            body_seek(prepared_request._body_position)
        except OSError:
            raise UnrewindableBodyError(
                "An error occurred when rewinding request body for redirect."
            ) from None
    else:
        raise UnrewindableBodyError("Unable to rewind request body for redirect.")
