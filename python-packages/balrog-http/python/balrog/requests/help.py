"""``requests.help``: the facts a bug report needs (``python -m balrog.requests.help``).

The same keys as requests' report; the TLS stack is rustls inside the native module, so
``system_ssl`` describes Python's own ``ssl`` module and ``urllib3`` is reported when it
happens to be installed (balrog does not use it).
"""

from __future__ import annotations

import importlib
import json
import platform
import ssl
from typing import Any

from .__version__ import __balrog_version__
from .__version__ import __version__ as requests_version

try:
    import idna
except ImportError:
    idna = None  # type: ignore[assignment]

__all__ = ["info", "main"]


def _version_of(name: str) -> str | None:
    """The ``__version__`` of an optional package, or None when it is not installed."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return getattr(module, "__version__", "")


def _implementation() -> dict[str, str]:
    name = platform.python_implementation()
    if name == "PyPy":
        import sys

        pypy = sys.pypy_version_info  # type: ignore[attr-defined]
        version = f"{pypy.major}.{pypy.minor}.{pypy.micro}"
        if pypy.releaselevel != "final":
            version += pypy.releaselevel
    elif name in ("CPython", "Jython", "IronPython"):
        version = platform.python_version()
    else:
        version = "Unknown"
    return {"name": name, "version": version}


def info() -> dict[str, Any]:
    """A dict describing the platform and the versions of the packages involved."""
    try:
        platform_info = {"system": platform.system(), "release": platform.release()}
    except OSError:
        platform_info = {"system": "Unknown", "release": "Unknown"}
    charset_normalizer = _version_of("charset_normalizer")
    chardet = _version_of("chardet")
    system_ssl = getattr(ssl, "OPENSSL_VERSION_NUMBER", None)
    return {
        "platform": platform_info,
        "implementation": _implementation(),
        "system_ssl": {"version": f"{system_ssl:x}" if system_ssl is not None else ""},
        "using_pyopenssl": False,
        "using_charset_normalizer": charset_normalizer is not None,
        "pyOpenSSL": {"version": None, "openssl_version": ""},
        "urllib3": {"version": _version_of("urllib3")},
        "chardet": {"version": chardet},
        "charset_normalizer": {"version": charset_normalizer},
        "cryptography": {"version": _version_of("cryptography") or ""},
        "idna": {"version": getattr(idna, "__version__", "")},
        "requests": {"version": requests_version},
        "balrog": {"version": __balrog_version__},
    }


def main() -> None:
    """Print the bug-report information as JSON."""
    print(json.dumps(info(), sort_keys=True, indent=2))


if __name__ == "__main__":
    main()
