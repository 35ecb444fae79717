"""Authentication handlers: Basic, Digest, proxy Basic, and the ``AuthBase`` protocol."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from base64 import b64encode
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from .cookies import extract_cookies_to_jar
from .utils import parse_dict_header

__all__ = ["AuthBase", "HTTPBasicAuth", "HTTPDigestAuth", "HTTPProxyAuth"]

CONTENT_TYPE_FORM_URLENCODED = "application/x-www-form-urlencoded"
CONTENT_TYPE_MULTI_PART = "multipart/form-data"


def _latin1(value: str | bytes) -> bytes:
    return value.encode("latin1") if isinstance(value, str) else value


def _basic_auth_str(username: str | bytes, password: str | bytes) -> str:
    """The value of a Basic ``Authorization`` header."""
    if not isinstance(username, (str, bytes)):
        username = str(username)
    if not isinstance(password, (str, bytes)):
        password = str(password)
    token = b64encode(b":".join((_latin1(username), _latin1(password)))).strip()
    return "Basic " + token.decode("ascii")


class AuthBase:
    """Base class that all auth implementations derive from: ``__call__(r)`` returns ``r``."""

    def __call__(self, r: Any) -> Any:
        raise NotImplementedError("Auth hooks must be callable.")


class HTTPBasicAuth(AuthBase):
    """Attaches HTTP Basic Authentication to the given Request object."""

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        self.username = username
        self.password = password

    def __eq__(self, other: object) -> bool:
        return all(
            [
                self.username == getattr(other, "username", None),
                self.password == getattr(other, "password", None),
            ]
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = _basic_auth_str(self.username, self.password)
        return r


class HTTPProxyAuth(HTTPBasicAuth):
    """Attaches HTTP Proxy Authentication to a given Request object."""

    def __call__(self, r: Any) -> Any:
        r.headers["Proxy-Authorization"] = _basic_auth_str(self.username, self.password)
        return r


_HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "MD5-SESS": hashlib.md5,
    "SHA": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-512": hashlib.sha512,
}


class HTTPDigestAuth(AuthBase):
    """Attaches HTTP Digest Authentication (RFC 7616: MD5, SHA, SHA-256, SHA-512, -sess)."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        # Each thread keeps its own nonce state: a Session may be shared across threads.
        self._thread_local = threading.local()

    def init_per_thread_state(self) -> None:
        if not hasattr(self._thread_local, "init"):
            self._thread_local.init = True
            self._thread_local.last_nonce = ""
            self._thread_local.nonce_count = 0
            self._thread_local.chal = {}
            self._thread_local.pos = None
            self._thread_local.num_401_calls = None

    def build_digest_header(self, method: str, url: str) -> str | None:
        chal = self._thread_local.chal
        realm = chal["realm"]
        nonce = chal["nonce"]
        qop = chal.get("qop")
        algorithm = chal.get("algorithm")
        opaque = chal.get("opaque")
        algorithm_key = "MD5" if algorithm is None else algorithm.upper()
        hash_fn = _HASHES.get(algorithm_key)
        if hash_fn is None:
            return None

        def digest(text: str) -> str:
            return str(hash_fn(text.encode("utf-8")).hexdigest())

        def keyed(secret: str, data: str) -> str:
            return digest(f"{secret}:{data}")

        parsed = urlparse(url)
        path = parsed.path or "/"
        if parsed.query:
            path += f"?{parsed.query}"
        a1 = f"{self.username}:{realm}:{self.password}"
        a2 = f"{method}:{path}"
        ha1 = digest(a1)
        ha2 = digest(a2)
        if nonce == self._thread_local.last_nonce:
            self._thread_local.nonce_count += 1
        else:
            self._thread_local.nonce_count = 1
        ncvalue = f"{self._thread_local.nonce_count:08x}"
        seed = str(self._thread_local.nonce_count).encode("utf-8") + nonce.encode("utf-8")
        seed += time.ctime().encode("utf-8") + os.urandom(8)
        cnonce = hashlib.sha1(seed).hexdigest()[:16]
        if algorithm_key == "MD5-SESS":
            ha1 = digest(f"{ha1}:{nonce}:{cnonce}")
        if not qop:
            respdig = keyed(ha1, f"{nonce}:{ha2}")
        elif qop == "auth" or "auth" in qop.split(","):
            respdig = keyed(ha1, f"{nonce}:{ncvalue}:{cnonce}:auth:{ha2}")
        else:
            # auth-int is not supported (neither is it by requests).
            return None
        self._thread_local.last_nonce = nonce
        base = (
            f'username="{self.username}", realm="{realm}", nonce="{nonce}", '
            f'uri="{path}", response="{respdig}"'
        )
        if opaque:
            base += f', opaque="{opaque}"'
        if algorithm:
            base += f', algorithm="{algorithm}"'
        if qop:
            base += f', qop="auth", nc={ncvalue}, cnonce="{cnonce}"'
        return f"Digest {base}"

    def handle_redirect(self, r: Any, **kwargs: Any) -> None:
        """A redirect resets the 401 counter."""
        if r.is_redirect:
            self._thread_local.num_401_calls = 1

    def handle_401(self, r: Any, **kwargs: Any) -> Any:
        """On a Digest challenge, answer it once by resending the request."""
        if not 400 <= r.status_code < 500:
            self._thread_local.num_401_calls = 1
            return r
        if self._thread_local.pos is not None:
            # Rewind a file body so the retry sends it again.
            r.request.body.seek(self._thread_local.pos)
        s_auth = r.headers.get("www-authenticate", "")
        if "digest" in s_auth.lower() and self._thread_local.num_401_calls < 2:
            self._thread_local.num_401_calls += 1
            pattern = re.compile(r"digest ", flags=re.IGNORECASE)
            self._thread_local.chal = parse_dict_header(pattern.sub("", s_auth, count=1))
            # Drain the body so the connection can carry the retry.
            _ = r.content  # read the body now
            r.close()
            prep = r.request.copy()
            extract_cookies_to_jar(prep._cookies, r.request, r.raw)
            prep.prepare_cookies(prep._cookies)
            header = self.build_digest_header(prep.method, prep.url)
            if header is not None:
                prep.headers["Authorization"] = header
            retried = r.connection.send(prep, **kwargs)
            retried.history.append(r)
            retried.request = prep
            return retried
        self._thread_local.num_401_calls = 1
        return r

    def __call__(self, r: Any) -> Any:
        self.init_per_thread_state()
        if self._thread_local.last_nonce:
            header = self.build_digest_header(r.method, r.url)
            if header is not None:
                r.headers["Authorization"] = header
        try:
            self._thread_local.pos = r.body.tell()
        except AttributeError:
            self._thread_local.pos = None
        r.register_hook("response", self.handle_401)
        r.register_hook("response", self.handle_redirect)
        self._thread_local.num_401_calls = 1
        return r

    def __eq__(self, other: object) -> bool:
        return all(
            [
                self.username == getattr(other, "username", None),
                self.password == getattr(other, "password", None),
            ]
        )

    def __ne__(self, other: object) -> bool:
        return not self == other
