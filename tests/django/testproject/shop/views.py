"""Views of the test project. Each reports where it ran (thread, balrog mode, DB backend pid)."""

import asyncio
import hashlib
import threading

from django.core.exceptions import SynchronousOnlyOperation
from django.db import connection, transaction
from django.http import JsonResponse, StreamingHttpResponse
from django.utils import timezone, translation

import balrog

from .models import Event, Order


def _where(request=None):
    where = {
        "thread": threading.get_ident(),
        "mode": balrog.mode(),
        "backend_pid": connection.connection.info.backend_pid if connection.connection else None,
    }
    if request is not None:
        where["middleware_mode"] = getattr(request, "middleware_mode", None)
        where["async_middleware_mode"] = getattr(request, "async_middleware_mode", None)
    return where


def _sleep(seconds):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])


def load(request):
    """The load-test view: a read, an insert inside atomic, and a 50 ms wait in PostgreSQL."""
    client = request.GET["client"]
    seq = int(request.GET["seq"])
    before = Order.objects.filter(client=client).count()
    with transaction.atomic():
        order = Order.objects.create(client=client, seq=seq, tags=["load"])
    _sleep(float(request.GET.get("sleep", "0.05")))
    return JsonResponse({**_where(request), "order": order.pk, "before": before})


def whoami(request):
    Order.objects.exists()
    return JsonResponse(_where(request))


def atomic_fail(request):
    client = request.GET["client"]
    try:
        with transaction.atomic():
            Order.objects.create(client=client, seq=1)
            _sleep(0.02)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    return JsonResponse({**_where(), "left": Order.objects.filter(client=client).count()})


def on_commit(request):
    name = request.GET["name"]
    with transaction.atomic():
        transaction.on_commit(lambda: Event.objects.create(name=name))
        _sleep(0.02)
        seen_inside = Event.objects.filter(name=name).count()
    return JsonResponse({"inside": seen_inside, "after": Event.objects.filter(name=name).count()})


def savepoint(request):
    client = request.GET["client"]
    with transaction.atomic():
        Order.objects.create(client=client, seq=1)
        try:
            with transaction.atomic():
                Order.objects.create(client=client, seq=2)
                _sleep(0.02)
                raise ValueError
        except ValueError:
            pass
        Order.objects.create(client=client, seq=3)
    seqs = sorted(Order.objects.filter(client=client).values_list("seq", flat=True))
    return JsonResponse({"seqs": seqs})


def lock(request):
    """select_for_update: concurrent requests on one row serialize on the row lock."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(client="counter", seq=0)
        tags = [*order.tags, request.GET["tag"]]
        _sleep(0.01)
        order.tags = tags
        order.save(update_fields=["tags"])
    return JsonResponse({"tags": len(tags)})


def stream(request):
    name = request.GET["name"]

    def parts():
        for i in range(5):
            Event.objects.create(name=name)
            _sleep(0.005)
            yield f"{i}:{Event.objects.filter(name=name).count()}:{balrog.mode()}\n"

    return StreamingHttpResponse(parts(), content_type="text/plain")


def async_stream(request):
    async def parts():
        for i in range(3):
            await asyncio.sleep(0)
            yield f"part{i}\n"

    return StreamingHttpResponse(parts(), content_type="text/plain")


def body(request):
    data = request.body
    return JsonResponse({"size": len(data), "sha256": hashlib.sha256(data).hexdigest()})


def isolation(request):
    """Request-scoped state per task: locale, timezone, connection.queries."""
    translation.activate(request.GET["lang"])
    timezone.activate(request.GET["tz"])
    connection.ensure_connection()  # the session set-up queries are not this view's
    connection.force_debug_cursor = True
    try:
        n = int(request.GET["n"])
        for _ in range(n):
            _sleep(0.01)
        queries = len(connection.queries)
    finally:
        connection.force_debug_cursor = False
    return JsonResponse(
        {
            "lang": translation.get_language(),
            "tz": timezone.get_current_timezone_name(),
            "queries": queries,
        }
    )


async def async_view(request):
    count = await Order.objects.filter(client=request.GET.get("client", "")).acount()
    return JsonResponse({"count": count, "mode": balrog.mode(), "thread": threading.get_ident()})


async def async_unsafe(request):
    """The ORM called from a coroutine on the bare loop must still be refused."""
    try:
        Order.objects.count()
    except SynchronousOnlyOperation as exc:
        return JsonResponse({"raised": type(exc).__name__})
    return JsonResponse({"raised": None})


def wait_for_disconnect(request):
    """Waits (green) until the client goes away; the cancellation arrives here as in Django."""
    name = request.GET["name"]
    Event.objects.create(name=f"{name}:started")
    try:
        balrog.sleep(600)
    except asyncio.CancelledError:
        Event.objects.create(name=f"{name}:cancelled")
        raise
    return JsonResponse({"cancelled": False})


def spawn(request):
    """Green tasks started by a view get connections of their own."""

    def pid():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            balrog.sleep(0.05)  # hold it while the other task holds its own
            return pid
        finally:
            connection.close()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = cursor.fetchone()[0]
    others = balrog.gather(pid, pid)
    return JsonResponse({"mine": mine, "others": others})
