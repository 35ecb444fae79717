"""``requests.certs.where()``: the CA bundle path (certifi's when installed).

balrog verifies against the Mozilla roots built into its TLS stack by default; this path is
only what code asking for it gets.
"""

from __future__ import annotations

from .utils import DEFAULT_CA_BUNDLE_PATH


def where() -> str | None:
    return DEFAULT_CA_BUNDLE_PATH
