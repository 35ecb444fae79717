from bench import views
from django.urls import path

urlpatterns = [path("order/", views.order), path("async-order/", views.async_order)]
