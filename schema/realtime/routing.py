"""The websocket side of the ASGI application: /graphql, behind an Origin check."""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import path

from ..core.origins import cross_origin_allowed
from .consumers import graphql_ws_app


class OriginPolicy:
    """Browsers may open the socket from this site itself or from an origin the CORS rule allows
    (schema.core.origins: CORS_ALLOWED_ORIGINS, and localhost in development): the rule HTTP follows.

    This site itself: the Origin's host and port are the handshake's Host (which must be in ALLOWED_HOSTS);
    a handshake without a Host header (a test harness) falls back to the Origin's host being in
    ALLOWED_HOSTS. A handshake without an Origin header (a server, a script, a mobile app) is let through:
    authentication is the token in connection_init, never a cookie, so there is no ambient credential
    for a foreign page to ride on; the check keeps other sites' pages from using visitors' browsers
    as clients.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin")
        if origin is None or self.allowed(origin.decode("latin1"), headers.get(b"host")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    @staticmethod
    def allowed(origin: str, host: bytes | None) -> bool:
        try:
            parsed = urlsplit(origin)
        except ValueError:
            return False
        if parsed.scheme in ("http", "https") and parsed.hostname:
            if host is not None:
                host_text = host.decode("latin1")
                if parsed.netloc == host_text and validate_host(split_domain_port(host_text)[0],
                                                                settings.ALLOWED_HOSTS):
                    return True
            elif validate_host(parsed.hostname, settings.ALLOWED_HOSTS):
                return True
        return cross_origin_allowed(origin)


def websocket_application(schema):
    """The websocket side serving ``schema`` (config/asgi.py passes schema.api.schema)."""
    app = graphql_ws_app(schema)
    routes = URLRouter([path("graphql", app), path("graphql/", app)])
    return OriginPolicy(routes)
