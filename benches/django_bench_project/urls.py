from django.urls import path

from bench import views

urlpatterns = [path("order/", views.order), path("async-order/", views.async_order)]
