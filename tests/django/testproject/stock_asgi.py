"""Django's own ASGI handler (for comparisons)."""

from django.core.asgi import get_asgi_application

import balrog.django

balrog.django.install()
application = get_asgi_application()
