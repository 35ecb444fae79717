"""The one line that changes: balrog's ASGI application instead of django.core.asgi's."""

from balrog.django.asgi import get_asgi_application

application = get_asgi_application()
