"""A plain synchronous Django view: nothing in it knows about balrog."""

import threading
from decimal import Decimal

from django.db import connection, transaction
from django.http import JsonResponse

from .models import Customer, Order


def place_order(request):
    number = int(request.GET.get("n", "0"))
    customer, _ = Customer.objects.get_or_create(name=f"customer-{number % 50}")
    with transaction.atomic():
        order = Order(customer=customer, amount=Decimal(number % 100) + Decimal("0.99"))
        order.save()
    recent = list(customer.orders.order_by("-id").values_list("id", flat=True)[:5])
    return JsonResponse(
        {
            "order": order.id,
            "recent": recent,
            "thread": threading.get_ident(),
            "backend_pid": connection.connection.info.backend_pid,
        }
    )


def stats(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        (sessions,) = cursor.fetchone()
    return JsonResponse(
        {"orders": Order.objects.count(), "customers": Customer.objects.count(), "sessions": sessions}
    )
