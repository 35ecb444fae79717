"""Names that code written for requests imports from ``requests.compat``."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import OrderedDict
from collections.abc import Callable, Mapping, MutableMapping
from http import cookiejar as cookielib
from http.cookies import Morsel
from io import StringIO
from urllib.parse import (
    quote,
    quote_plus,
    unquote,
    unquote_plus,
    urldefrag,
    urlencode,
    urljoin,
    urlparse,
    urlsplit,
    urlunparse,
)
from urllib.request import (
    getproxies,
    getproxies_environment,
    parse_http_list,
    proxy_bypass,
    proxy_bypass_environment,
)

is_py2 = False
is_py3 = True
has_simplejson = False
# balrog has no urllib3 underneath; where the two urllib3 majors differ it acts like 2.x.
is_urllib3_1 = False
JSONDecodeError = json.JSONDecodeError

builtin_str = str
str = str
bytes = bytes
basestring = (str, bytes)
numeric_types = (int, float)
integer_types = (int,)

chardet = None
if importlib.util.find_spec("charset_normalizer") is not None:
    import charset_normalizer as chardet  # type: ignore[no-redef]

__all__ = [
    "Callable",
    "JSONDecodeError",
    "Mapping",
    "Morsel",
    "MutableMapping",
    "OrderedDict",
    "StringIO",
    "basestring",
    "builtin_str",
    "bytes",
    "chardet",
    "cookielib",
    "getproxies",
    "getproxies_environment",
    "integer_types",
    "is_py2",
    "is_py3",
    "is_urllib3_1",
    "numeric_types",
    "parse_http_list",
    "proxy_bypass",
    "proxy_bypass_environment",
    "quote",
    "quote_plus",
    "str",
    "sys",
    "unquote",
    "unquote_plus",
    "urldefrag",
    "urlencode",
    "urljoin",
    "urlparse",
    "urlsplit",
    "urlunparse",
]
