"""``Retry``: the retry policy of ``HTTPAdapter(max_retries=...)``, urllib3's API without urllib3.

requests keeps a urllib3 ``Retry`` in ``adapter.max_retries``, and code written for requests
drives it by hand: ``responses`` (the mocking library) asks ``is_retry()`` of every mocked
response and calls ``increment()``, catching urllib3's ``MaxRetryError`` when the retries
are spent. The stand-in has those methods with urllib3's rules. balrog's own transport
reads only the counts (``adapters._RetryBudget``), so a real urllib3 ``Retry`` works too.

A spent policy raises urllib3's ``MaxRetryError`` where urllib3 is installed (see _urllib3).
"""

from __future__ import annotations

import time
from collections import namedtuple
from typing import Any

from . import _urllib3

__all__ = ["RequestHistory", "Retry"]

DEFAULT_RETRIES = 0

# The entries of ``Retry.history``, with the fields of urllib3's type of that name (not
# imported: importing urllib3 would slow every start-up).
RequestHistory = namedtuple("RequestHistory", ["method", "url", "error", "status", "redirect_location"])


class Retry:
    """urllib3's ``Retry``: how many times, after what, and how long to wait in between.

    ``total``/``connect`` count retries of failures before the request reached the server,
    ``read`` of failures waiting for the response (``allowed_methods`` only; False: none,
    the failure raised as is); ``status_forcelist`` retries responses with those statuses
    for ``allowed_methods``.
    """

    DEFAULT_ALLOWED_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE"})
    RETRY_AFTER_STATUS_CODES = frozenset({413, 429, 503})
    DEFAULT_REMOVE_HEADERS_ON_REDIRECT = frozenset({"Cookie", "Authorization", "Proxy-Authorization"})
    DEFAULT_BACKOFF_MAX = 120

    def __init__(
        self,
        total: int | bool | None = 10,
        connect: int | None = None,
        read: int | bool | None = None,
        redirect: int | bool | None = None,
        status: int | None = None,
        other: int | None = None,
        allowed_methods: Any = DEFAULT_ALLOWED_METHODS,
        status_forcelist: Any = None,
        backoff_factor: float = 0,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        raise_on_redirect: bool = True,
        raise_on_status: bool = True,
        history: tuple[Any, ...] | None = None,
        respect_retry_after_header: bool = True,
        remove_headers_on_redirect: Any = DEFAULT_REMOVE_HEADERS_ON_REDIRECT,
        backoff_jitter: float = 0.0,
        **_ignored: Any,
    ) -> None:
        self.total = total
        self.connect = connect
        self.read = read
        self.status = status
        self.other = other
        if redirect is False or total is False:
            redirect = 0
            raise_on_redirect = False
        self.redirect = redirect
        self.status_forcelist = status_forcelist or set()
        self.allowed_methods = allowed_methods
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.backoff_jitter = backoff_jitter
        self.raise_on_redirect = raise_on_redirect
        self.raise_on_status = raise_on_status
        self.history = history or ()
        self.respect_retry_after_header = respect_retry_after_header
        self.remove_headers_on_redirect = frozenset(h.lower() for h in remove_headers_on_redirect)

    def new(self, **changes: Any) -> Retry:
        """A copy with ``changes`` applied."""
        params = {
            name: getattr(self, name)
            for name in (
                "total connect read redirect status other allowed_methods status_forcelist "
                "backoff_factor backoff_max raise_on_redirect raise_on_status history "
                "respect_retry_after_header remove_headers_on_redirect backoff_jitter"
            ).split()
        }
        params.update(changes)
        return type(self)(**params)

    @classmethod
    def from_int(cls, retries: Any, redirect: bool | int | None = True, default: Any = None) -> Any:
        if retries is None:
            retries = default if default is not None else DEFAULT_RETRIES
        if isinstance(retries, int) and not isinstance(retries, bool):
            return cls(retries, redirect=bool(redirect) and None)
        return retries  # a Retry, or another object with its API (urllib3's)

    def get_backoff_time(self) -> float:
        """Seconds to sleep before the next attempt (0 for the first retry)."""
        consecutive = 0
        for entry in reversed(self.history):
            if entry.redirect_location is not None:
                break
            consecutive += 1
        if consecutive <= 1:
            return 0
        return float(max(0, min(self.backoff_max, self.backoff_factor * (2 ** (consecutive - 1)))))

    def parse_retry_after(self, retry_after: str) -> float:
        """A Retry-After value (seconds, or an HTTP date) as seconds from now."""
        if retry_after.strip().isdigit():
            return max(0, int(retry_after))
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            from .exceptions import InvalidHeader

            raise InvalidHeader(f"Invalid Retry-After header: {retry_after}") from None
        return max(0.0, when.timestamp() - time.time())

    def get_retry_after(self, response: Any) -> float | None:
        value = response.headers.get("Retry-After")
        return None if value is None else self.parse_retry_after(value)

    def sleep_for_retry(self, response: Any) -> bool:
        delay = self.get_retry_after(response)
        if delay:
            _sleep(delay)
            return True
        return False

    def sleep(self, response: Any = None) -> None:
        """Wait as the policy says: Retry-After of ``response`` if asked to, else the backoff."""
        if self.respect_retry_after_header and response is not None and self.sleep_for_retry(response):
            return
        backoff = self.get_backoff_time()
        if backoff > 0:
            _sleep(backoff)

    def _is_method_retryable(self, method: str) -> bool:
        return not (self.allowed_methods and method.upper() not in self.allowed_methods)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Whether a response with ``status_code`` to ``method`` should be retried."""
        if not self._is_method_retryable(method):
            return False
        if self.status_forcelist and status_code in self.status_forcelist:
            return True
        return bool(
            self.total
            and self.respect_retry_after_header
            and has_retry_after
            and status_code in self.RETRY_AFTER_STATUS_CODES
        )

    def is_exhausted(self) -> bool:
        counts = [
            count
            for count in (self.total, self.connect, self.read, self.redirect, self.status, self.other)
            if count
        ]
        return bool(counts) and min(counts) < 0

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        """The policy after one more attempt failed (``error``) or was answered with a
        status to retry (``response``); raises urllib3's ``MaxRetryError`` when that was the
        last one allowed (an error the policy does not retry is raised as is)."""
        if self.total is False and error:
            raise error
        total = self.total
        if total is not None:
            total -= 1
        connect, read, redirect, status_count, other = (
            self.connect,
            self.read,
            self.redirect,
            self.status,
            self.other,
        )
        errors = _urllib3.classes()
        response_error = errors.ResponseError
        cause = response_error.GENERIC_ERROR  # type: ignore[attr-defined]
        status = redirect_location = None
        if error is not None and _is_connect_error(error):
            if connect is False:
                raise error
            if connect is not None:
                connect -= 1
        elif error is not None and _is_read_error(error):
            if read is False or method is None or not self._is_method_retryable(method):
                raise error
            if read is not None:
                read -= 1
        elif error is not None:
            if other is not None:
                other -= 1
        elif response is not None and _redirect_location(response):
            if redirect is not None:
                redirect -= 1
            cause = "too many redirects"
            redirect_location = _redirect_location(response)
            status = response.status
        elif response is not None and getattr(response, "status", None):
            if status_count is not None:
                status_count -= 1
            status = response.status
            cause = response_error.SPECIFIC_ERROR.format(status_code=status)  # type: ignore[attr-defined]
        history = (*self.history, RequestHistory(method, url, error, status, redirect_location))
        new = self.new(
            total=total,
            connect=connect,
            read=read,
            redirect=redirect,
            status=status_count,
            other=other,
            history=history,
        )
        if new.is_exhausted():
            reason = error or response_error(cause)
            raise errors.MaxRetryError(_pool, url, reason) from reason
        return new

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(total={self.total}, connect={self.connect}, read={self.read}, "
            f"redirect={self.redirect}, status={self.status})"
        )


def _sleep(seconds: float) -> None:
    import balrog

    balrog.sleep(seconds)


def _redirect_location(response: Any) -> Any:
    get = getattr(response, "get_redirect_location", None)
    return get() if get is not None else None


# urllib3's classes, known by name (urllib3 itself is not imported to tell them apart).
def _is_connect_error(error: Exception) -> bool:
    return any(cls.__name__ == "ConnectTimeoutError" for cls in type(error).__mro__)


def _is_read_error(error: Exception) -> bool:
    return any(cls.__name__ in ("ReadTimeoutError", "ProtocolError") for cls in type(error).__mro__)
