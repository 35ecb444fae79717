"""A small httpbin-like HTTP/1.1 server for the tests (threaded, loopback only).

Endpoints mirror httpbin's where they exist (/get, /post, /status/N, /redirect/N, /cookies,
/gzip, /stream/N, /bytes/N, /delay/N, /basic-auth, /digest-auth, ...), plus fault
injection: /close-mid-body, /no-response, /bad-json, /drip-forever.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import socket
import threading
import time
import zlib
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

try:
    import brotli
except ImportError:  # pragma: no cover - optional
    brotli = None
try:
    import zstandard
except ImportError:  # pragma: no cover - optional
    zstandard = None


def _multi(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            out[key] = out[key] if isinstance(out[key], list) else [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "httpbin-lite/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return self.server_version

    # -- helpers -----------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        ctype: str | None = None,
    ) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for key, value in headers or []:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> None:
        self._send(status, json.dumps(data, sort_keys=True).encode(), headers, "application/json")

    def _echo(self, body: bytes) -> dict[str, Any]:
        url = urlsplit(self.path)
        host = self.headers.get("Host", "")
        info: dict[str, Any] = {
            "args": _multi(parse_qsl(url.query, keep_blank_values=True)),
            "headers": {k.title(): v for k, v in self.headers.items()},
            "method": self.command,
            "url": f"http://{host}{self.path}",
            "origin": self.client_address[0],
            "path": url.path,
            "raw_query": url.query,
        }
        ctype = self.headers.get("Content-Type", "")
        form: dict[str, Any] = {}
        files: dict[str, Any] = {}
        data = ""
        parsed_json = None
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = _multi(parse_qsl(body.decode("latin1"), keep_blank_values=True))
        elif ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                payload = part.get_payload(decode=True) or b""
                if filename is not None:
                    files[name] = {
                        "filename": filename,
                        "content": payload.decode("utf-8", "replace"),
                        "content_type": part.get("Content-Type"),
                        "headers": {
                            k: v for k, v in part.items() if k.lower() not in ("content-disposition",)
                        },
                    }
                else:
                    form.setdefault(name, []).append(payload.decode("utf-8", "replace"))
            form = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
        else:
            data = body.decode("utf-8", "replace")
            try:
                parsed_json = json.loads(body) if body else None
            except ValueError:
                parsed_json = None
        info.update(form=form, files=files, data=data, json=parsed_json, body_length=len(body))
        return info

    # -- dispatch ----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _dispatch(self) -> None:
        body = self._body()
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        name = parts[0] if parts else ""
        handler = getattr(self, "ep_" + name.replace("-", "_"), None)
        if handler is None:
            self._send(404, b"not found", ctype="text/plain")
            return
        handler(parts[1:], query, body)

    # -- endpoints ---------------------------------------------------------------------
    def ep_get(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._json(self._echo(body))

    ep_anything = ep_post = ep_put = ep_patch = ep_delete = ep_headers = ep_get

    def ep_small(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._send(200, b"Hello, World!", ctype="text/plain")

    def ep_status(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        code = int(args[0])
        headers = []
        if code in (301, 302, 303, 307, 308):
            headers.append(("Location", "/redirect/1"))
        if code == 401:
            headers.append(("WWW-Authenticate", 'Basic realm="Fake Realm"'))
        self._send(code, b"", headers, "text/html; charset=utf-8")

    def ep_redirect(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        n = int(args[0])
        location = "/get" if n <= 1 else f"/redirect/{n - 1}"
        self._send(302, b"", [("Location", location)])

    def ep_relative_redirect(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        n = int(args[0])
        location = "/get" if n <= 1 else f"/relative-redirect/{n - 1}"
        self._send(302, b"", [("Location", location)])

    def ep_absolute_redirect(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        n = int(args[0])
        host = self.headers.get("Host")
        location = f"http://{host}/get" if n <= 1 else f"http://{host}/absolute-redirect/{n - 1}"
        self._send(302, b"", [("Location", location)])

    def ep_redirect_to(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        status = int(query.get("status_code", "302"))
        self._send(status, b"", [("Location", query["url"])])

    def ep_loop(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._send(302, b"", [("Location", "/loop")])

    def ep_cookies(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        if args and args[0] == "set":
            headers = [("Set-Cookie", f"{k}={v}; Path=/") for k, v in query.items()]
            headers.append(("Location", "/cookies"))
            self._send(302, b"", headers)
            return
        if args and args[0] == "delete":
            headers = [("Set-Cookie", f"{k}=; Expires=Thu, 01-Jan-1970 00:00:00 GMT; Path=/") for k in query]
            headers.append(("Location", "/cookies"))
            self._send(302, b"", headers)
            return
        cookies: dict[str, str] = {}
        for chunk in self.headers.get("Cookie", "").split(";"):
            if "=" in chunk:
                key, value = chunk.strip().split("=", 1)
                cookies[key] = value
        self._json({"cookies": cookies})

    def ep_set_cookie_plain(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        headers = [("Set-Cookie", f"{k}={v}; Path=/") for k, v in query.items()]
        self._json({"set": query}, headers=headers)

    def _encoded(self, coding: str, data: bytes) -> None:
        self._send(200, data, [("Content-Encoding", coding)], "application/json")

    def ep_gzip(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._encoded("gzip", gzip.compress(json.dumps({"gzipped": True, **self._echo(body)}).encode()))

    def ep_deflate(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._encoded("deflate", zlib.compress(json.dumps({"deflated": True, **self._echo(body)}).encode()))

    def ep_raw_deflate(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        compressor = zlib.compressobj(wbits=-15)
        data = compressor.compress(json.dumps({"deflated": "raw"}).encode()) + compressor.flush()
        self._encoded("deflate", data)

    def ep_brotli(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._encoded("br", brotli.compress(json.dumps({"brotli": True, **self._echo(body)}).encode()))

    def ep_zstd(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        data = zstandard.ZstdCompressor().compress(json.dumps({"zstd": True, **self._echo(body)}).encode())
        self._encoded("zstd", data)

    def ep_bad_gzip(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._encoded("gzip", b"this is not gzip at all")

    def ep_encoding(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        charset = query.get("charset")
        ctype = query.get("ctype", "text/html")
        text = "∮ E⋅da = Q,  n → ∞, ∑ f(i) = ∏ g(i) — Grüße, ça va?"
        data = text.encode(charset or "utf-8")
        self._send(200, data, ctype=f"{ctype}; charset={charset}" if charset else ctype)

    def ep_html(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._send(200, "<html><body>Grüße</body></html>".encode(), ctype="text/html; charset=utf-8")

    def ep_bad_json(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._send(200, b"{not json", ctype="application/json")

    def ep_json_utf16(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self._send(200, json.dumps({"a": "é"}).encode("utf-16-le"), ctype="application/json")

    def ep_stream(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        n = int(args[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(n):
            line = json.dumps({"id": i, "url": self.path}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.write(b"0\r\n\r\n")

    def ep_bytes(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        n = int(args[0])
        data = random.Random(int(query.get("seed", "42"))).randbytes(n)
        self._send(200, data, ctype="application/octet-stream")

    def ep_large(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        """N bytes of a repeating pattern, written in 64 KiB pieces (Content-Length set)."""
        n = int(args[0])
        piece = bytes(range(256)) * 256
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        left = n
        try:
            while left > 0:
                chunk = piece[: min(left, len(piece))]
                self.wfile.write(chunk)
                left -= len(chunk)
        except OSError:
            pass

    def ep_delay(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        time.sleep(float(args[0]))
        self._json(self._echo(body))

    def ep_slow_body(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        """Headers now, then a pause of N seconds before the body."""
        self.send_response(200)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.flush()
        time.sleep(float(args[0]))
        try:
            self.wfile.write(b"done")
        except OSError:
            pass

    def ep_close_mid_body(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 100)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def ep_close_mid_chunked(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"5\r\nhello\r\n")
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def ep_no_response(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def ep_unknown_length(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        """An HTTP/1.1 body delimited by closing the connection."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"until the end" * 100)
        self.wfile.flush()
        self.close_connection = True

    def ep_basic_auth(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        user, password = args[0], args[1]
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if self.headers.get("Authorization") == expected:
            self._json({"authenticated": True, "user": user})
        else:
            self._send(401, b"", [("WWW-Authenticate", 'Basic realm="Fake Realm"')])

    def ep_digest_auth(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        qop, user, password = args[0], args[1], args[2]
        algorithm = args[3] if len(args) > 3 else "MD5"
        hash_fn = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256, "SHA-512": hashlib.sha512}[algorithm]
        header = self.headers.get("Authorization", "")
        if header.startswith("Digest "):
            from balrog.requests.utils import parse_dict_header

            fields = parse_dict_header(header[len("Digest ") :])
            ha1 = hash_fn(f"{user}:{fields.get('realm')}:{password}".encode()).hexdigest()
            ha2 = hash_fn(f"{self.command}:{fields.get('uri')}".encode()).hexdigest()
            if fields.get("qop"):
                raw = f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}"
            else:
                raw = f"{ha1}:{fields['nonce']}:{ha2}"
            if fields.get("username") == user and hash_fn(raw.encode()).hexdigest() == fields.get("response"):
                self._json({"authenticated": True, "user": user}, headers=[("Set-Cookie", "fake=fake_value")])
                return
        nonce = hashlib.md5(b"balrog-test-nonce").hexdigest()
        challenge = (
            f'Digest realm="me@kennethreitz.com", nonce="{nonce}", qop="{qop}", '
            f'opaque="abc", algorithm={algorithm}'
        )
        self._send(401, b"", [("WWW-Authenticate", challenge), ("Set-Cookie", "stale_after=never")])

    def ep_response_headers(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        pairs = parse_qsl(urlsplit(self.path).query, keep_blank_values=True)
        self._json(_multi(pairs), headers=pairs)

    def ep_links(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        link = '<http://example.test/page/2>; rel="next", <http://example.test/page/9>; rel="last"'
        self._send(200, b"{}", [("Link", link)], "application/json")

    def ep_reason(self, args: list[str], query: dict[str, str], body: bytes) -> None:
        self.send_response(int(args[0]), query.get("phrase"))
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server:
    """The httpbin-like server in a background thread on 127.0.0.1 (or ::1)."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: Any = None) -> None:
        server_class = ThreadingHTTPServer
        if ":" in host:

            class V6Server(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            server_class = V6Server
        self.httpd = server_class((host, 0), Handler)
        self.httpd.daemon_threads = True
        # Clients hanging up mid-body is what some tests do on purpose: no tracebacks.
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.host = host
        self.port = self.httpd.server_address[1]
        scheme = "https" if ssl_context is not None else "http"
        netloc = f"[{host}]" if ":" in host else host
        self.url = f"{scheme}://{netloc}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def __call__(self, path: str) -> str:
        return self.url + path

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
