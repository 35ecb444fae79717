"""The benchmarked logic: three queries and one insert inside transaction.atomic."""

import random
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import JsonResponse

from .models import Customer, Order

CUSTOMERS = 50


def _insert(customer: Customer) -> Order:
    with transaction.atomic():
        return Order.objects.create(customer=customer, amount=Decimal("9.99"))


def order(request):
    customer = Customer.objects.get(pk=random.randrange(CUSTOMERS) + 1)
    recent = list(Order.objects.filter(customer=customer).order_by("-id").values_list("id", flat=True)[:5])
    count = Order.objects.filter(customer=customer).count()
    placed = _insert(customer)
    return JsonResponse({"order": placed.id, "recent": recent, "count": count})


async def async_order(request):
    customer = await Customer.objects.aget(pk=random.randrange(CUSTOMERS) + 1)
    recent = [
        pk
        async for pk in Order.objects.filter(customer=customer)
        .order_by("-id")
        .values_list("id", flat=True)[:5]
    ]
    count = await Order.objects.filter(customer=customer).acount()
    # Django has no async transaction.atomic: the documented way is a sync function.
    placed = await sync_to_async(_insert)(customer)
    return JsonResponse({"order": placed.id, "recent": recent, "count": count})
