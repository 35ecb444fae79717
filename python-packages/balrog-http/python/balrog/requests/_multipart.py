"""multipart/form-data encoding for ``files=`` (and the ``data=`` fields sent with them)."""

from __future__ import annotations

import binascii
import os
from collections.abc import Iterable
from typing import Any


def _quote_param(value: str) -> str:
    # HTML5 form encoding (what browsers and urllib3 do): quotes and controls escaped.
    escapes = {'"': "%22", "\\": "\\\\", "\r": "%0D", "\n": "%0A"}
    return "".join(escapes.get(char, char) for char in value)


def _part_headers(name: str, filename: str | None, content_type: str | None, extra: Any) -> bytes:
    disposition = f'form-data; name="{_quote_param(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quote_param(filename)}"'
    lines = [f"Content-Disposition: {disposition}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if extra:
        for key, value in dict(extra).items():
            if key.lower() in ("content-disposition", "content-type"):
                continue
            if value:
                lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def encode_multipart(fields: Iterable[tuple[str, Any, str | None, str | None, Any]]) -> tuple[bytes, str]:
    """Encode (name, data, filename, content_type, headers) parts; returns (body, content type)."""
    boundary = binascii.hexlify(os.urandom(16)).decode("ascii")
    marker = f"--{boundary}\r\n".encode("ascii")
    out = bytearray()
    for name, data, filename, content_type, extra in fields:
        out += marker
        out += _part_headers(name, filename, content_type, extra)
        if isinstance(data, int):
            data = str(data)
        if isinstance(data, str):
            data = data.encode("utf-8")
        out += data
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return bytes(out), f"multipart/form-data; boundary={boundary}"
