"""Which foreign origins browsers may use the API from: one rule for HTTP and websockets.

django-cors-headers applies it to HTTP (CORS response headers); the websocket handshake's Origin is
checked against the very same settings and code (schema/realtime/routing.py), so an origin allowed for
one is allowed for the other. Settings: CORS_ALLOWED_ORIGINS (exact origins, from the environment) and
CORS_ALLOWED_ORIGIN_REGEXES (in development, DEBUG: any localhost origin); see config/settings.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from corsheaders.conf import conf
from corsheaders.middleware import CorsMiddleware

_cors = CorsMiddleware(lambda request: None)


def cross_origin_allowed(origin: str | None) -> bool:
    """True when a page served from ``origin`` (e.g. "http://localhost:3000") may call the API."""
    if not origin:
        return False
    try:
        url = urlsplit(origin)
    except ValueError:
        return False
    return bool(conf.CORS_ALLOW_ALL_ORIGINS or _cors.origin_found_in_white_lists(origin, url))
