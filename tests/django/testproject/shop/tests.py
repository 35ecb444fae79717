"""Run by Django's test runner in test_django_management.py (`manage.py test testproject.shop`)."""

from django.db import connection, transaction
from django.test import TestCase, TransactionTestCase

from .models import Order


class OrderTests(TestCase):
    def test_create_in_atomic(self):
        with transaction.atomic():
            Order.objects.create(client="runner", seq=1, tags=["a", "b"])
        self.assertEqual(Order.objects.get(client="runner").tags, ["a", "b"])

    def test_on_commit_captured(self):
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            transaction.on_commit(lambda: None)
        self.assertEqual(len(callbacks), 1)


class VendorTests(TransactionTestCase):
    def test_vendor(self):
        self.assertEqual(connection.vendor, "postgresql")
        self.assertFalse(Order.objects.exists())
