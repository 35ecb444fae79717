from django.urls import path
from orders import views

urlpatterns = [
    path("order/", views.place_order),
    path("stats/", views.stats),
]
