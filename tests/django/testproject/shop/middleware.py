"""A sync and an async-only middleware: both must wrap green views transparently."""

import threading

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

import balrog


class SyncStampMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.middleware_mode = balrog.mode()
        request.middleware_thread = threading.get_ident()
        response = self.get_response(request)
        response["X-Sync-Middleware-Mode"] = request.middleware_mode
        return response


class AsyncStampMiddleware:
    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        assert iscoroutinefunction(get_response)
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        request.async_middleware_mode = balrog.mode()
        response = await self.get_response(request)
        response["X-Async-Middleware-Mode"] = request.async_middleware_mode
        return response
