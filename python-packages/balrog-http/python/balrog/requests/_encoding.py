"""Guessing a body's character encoding (``Response.apparent_encoding``)."""

from __future__ import annotations

try:
    import charset_normalizer as _detector
except ImportError:  # optional, as chardet/charset_normalizer are for requests
    _detector = None  # type: ignore[assignment]


def detect(content: bytes | None) -> str | None:
    """charset_normalizer's guess when installed; otherwise "utf-8" (requests' fallback)."""
    if _detector is None:
        return "utf-8"
    return _detector.detect(content or b"")["encoding"]  # type: ignore[no-any-return]
