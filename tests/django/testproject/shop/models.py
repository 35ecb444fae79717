from django.contrib.postgres.fields import ArrayField
from django.db import models


class Order(models.Model):
    client = models.CharField(max_length=64)
    seq = models.IntegerField()
    tags = ArrayField(models.CharField(max_length=16), default=list)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "seq"], name="order_once")]


class Event(models.Model):
    """Written by on_commit callbacks and by the streaming view."""

    name = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)
