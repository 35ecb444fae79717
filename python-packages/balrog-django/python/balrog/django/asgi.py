"""The green ASGI application: each request runs as one green task on the event loop.

Django's stock ASGI handler runs sync views and sync middleware in a thread pool
(``sync_to_async``). Here the whole sync request cycle — ``request_started``, the
middleware chain, the view, sending the response, ``response.close()`` and
``request_finished`` — runs in one balrog green task, like the WSGI handler runs it in one
thread. The task's database I/O suspends only that task, so one loop thread serves many
requests at once. Async middleware and async views still work: they are reached through
``async_to_sync``, which from a green task runs the coroutine on the loop, and their
thread-sensitive ``sync_to_async`` calls (the async ORM) come back to the same green task.

Usage (``asgi.py`` of a project)::

    from balrog.django.asgi import get_asgi_application
    application = get_asgi_application()
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, Any

from asgiref.sync import ThreadSensitiveContext

import balrog
import django
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

from ._connections import release_task_connections
from ._install import install

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

__all__ = ["GreenASGIHandler", "get_asgi_application"]

_END = object()


async def _next_part(iterator: Any) -> Any:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return _END


async def _close_async_iterator(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class _Sender:
    """The ASGI ``send`` callable, made callable from the green task.

    Each call is one trip to the loop (the green task waits while the messages go out in
    order), so a whole non-streaming response costs one switch.
    """

    __slots__ = ("_send_all",)

    def __init__(self, send: Send) -> None:
        async def send_all(messages: tuple[Message, ...]) -> None:
            for message in messages:
                await send(message)

        self._send_all = balrog.hide(send_all)

    def __call__(self, *messages: Message) -> None:
        self._send_all(messages)


_next_part_sync = balrog.hide(_next_part)
_close_async_iterator_sync = balrog.hide(_close_async_iterator)


class GreenASGIHandler(ASGIHandler):
    """Django's ASGIHandler with the sync request cycle run as a green task per request."""

    def __init__(self) -> None:
        # ASGIHandler.__init__ would build the async middleware chain; the green task runs
        # the sync chain, as the WSGI handler does.
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._serve_green = balrog.green(self._serve)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # As in Django's handler: thread-sensitive sync_to_async calls made outside the
        # green task (e.g. by tasks an async view starts) share one thread per request.
        async with ThreadSensitiveContext():
            await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            listening = asyncio.create_task(self.listen_for_disconnect(receive))
            serving = asyncio.create_task(self._serve_green(scope, body_file, send))
            await asyncio.wait((listening, serving), return_when=asyncio.FIRST_COMPLETED)
            if not listening.done():
                listening.cancel()
            elif not serving.done():
                # The client went away: the view sees CancelledError at its current wait.
                serving.cancel()
            for task in (listening, serving):
                try:
                    await task
                except (asyncio.CancelledError, RequestAborted):
                    # Expected from the task we cancelled; our own cancellation goes on.
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise
        finally:
            body_file.close()

    # -- inside the green task ---------------------------------------------------------------

    def _serve(self, scope: Scope, body_file: IO[bytes], send: Send) -> None:
        """The sync request cycle, from request_started to request_finished."""
        send_sync = _Sender(send)
        response: HttpResponseBase | None = None
        broken = True
        try:
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
                response._handler_class = self.__class__  # type: ignore[attr-defined]
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size
            assert response is not None
            # The view is done: whatever happens while sending, its connections are clean.
            broken = False
            try:
                self._send_response(response, send_sync)
            except asyncio.CancelledError:
                pass  # the client disconnected while we were sending (as Django does)
            finally:
                response.close()  # sends request_finished: close_old_connections & co.
        except asyncio.CancelledError:
            if response is None:
                signals.request_finished.send(sender=self.__class__)
            raise
        finally:
            release_task_connections(broken=broken)

    def _send_response(self, response: HttpResponseBase, send: _Sender) -> None:
        headers = []
        for header, value in response.items():
            name = header.encode("ascii") if isinstance(header, str) else header
            raw = value.encode("latin1") if isinstance(value, str) else value
            headers.append((bytes(name), bytes(raw)))
        for cookie in response.cookies.values():
            headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
        start = {"type": "http.response.start", "status": response.status_code, "headers": headers}
        if response.streaming:
            send(start)
            for part in self._streamed_parts(response):
                for chunk, _ in self.chunk_bytes(part):
                    send({"type": "http.response.body", "body": chunk, "more_body": True})
            send({"type": "http.response.body"})
        else:
            # One trip to the loop for the whole response.
            body = [
                {"type": "http.response.body", "body": chunk, "more_body": not last}
                for chunk, last in self.chunk_bytes(response.content)  # type: ignore[attr-defined]
            ]
            send(start, *body)

    @staticmethod
    def _streamed_parts(response: Any) -> Any:
        """Parts of a streaming response: sync iterators run right here (their queries use
        this task's connection); async iterators are stepped on the loop one part at a time."""
        if not response.is_async:
            yield from response
            return
        iterator = aiter(response)
        try:
            while (part := _next_part_sync(iterator)) is not _END:
                yield part
        finally:
            _close_async_iterator_sync(iterator)


def get_asgi_application() -> GreenASGIHandler:
    """The green ASGI application (drop-in for ``django.core.asgi.get_asgi_application``)."""
    install()
    django.setup(set_prefix=False)
    return GreenASGIHandler()
