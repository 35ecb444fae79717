from django.urls import path

from testproject.shop import views

urlpatterns = [
    path("load/", views.load),
    path("whoami/", views.whoami),
    path("atomic-fail/", views.atomic_fail),
    path("on-commit/", views.on_commit),
    path("savepoint/", views.savepoint),
    path("lock/", views.lock),
    path("stream/", views.stream),
    path("async-stream/", views.async_stream),
    path("body/", views.body),
    path("isolation/", views.isolation),
    path("async-view/", views.async_view),
    path("async-unsafe/", views.async_unsafe),
    path("spawn/", views.spawn),
    path("wait-for-disconnect/", views.wait_for_disconnect),
]
