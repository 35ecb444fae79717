"""``requests._internal_utils``: small helpers code written for requests imports from here."""

from __future__ import annotations

import re

__all__ = ["HEADER_VALIDATORS", "to_native_string", "unicode_is_ascii"]

# \Z, not $: "$" also matches before a trailing newline, which must make a header invalid.
_VALID_HEADER_NAME_RE_BYTE = re.compile(rb"^[^:\s][^:\r\n]*\Z")
_VALID_HEADER_NAME_RE_STR = re.compile(r"^[^:\s][^:\r\n]*\Z")
_VALID_HEADER_VALUE_RE_BYTE = re.compile(rb"^\S[^\r\n]*\Z|^\Z")
_VALID_HEADER_VALUE_RE_STR = re.compile(r"^\S[^\r\n]*\Z|^\Z")

# (name pattern, value pattern) for each type a header part may have.
HEADER_VALIDATORS = {
    bytes: (_VALID_HEADER_NAME_RE_BYTE, _VALID_HEADER_VALUE_RE_BYTE),
    str: (_VALID_HEADER_NAME_RE_STR, _VALID_HEADER_VALUE_RE_STR),
}


def to_native_string(string: str | bytes, encoding: str = "ascii") -> str:
    """``string`` as ``str`` (bytes are decoded with ``encoding``)."""
    if isinstance(string, str):
        return string
    return string.decode(encoding)


def unicode_is_ascii(u_string: str) -> bool:
    """Whether a str holds only ASCII characters (raises AssertionError for non-str)."""
    assert isinstance(u_string, str)
    try:
        u_string.encode("ascii")
    except UnicodeEncodeError:
        return False
    return True
