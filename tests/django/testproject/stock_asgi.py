"""Django's own ASGI handler (for comparisons)."""

import balrog.django
from django.core.asgi import get_asgi_application

balrog.django.install()
application = get_asgi_application()
