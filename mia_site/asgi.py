"""ASGI entry point: HTTP through Django, websockets through Channels.

`get_asgi_application()` runs first so the app registry is ready before consumers (which import
models) are imported. Websocket origins must match ``MIA_ALLOWED_ORIGINS`` in scheme, host and port.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mia_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from mia_site.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Scheme, host and port (AllowedHostsOriginValidator would check the host only: a page on another
        # port of the same machine could read live P&L with the user's session).
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
                                     settings.MIA_ALLOWED_ORIGINS),
    }
)
