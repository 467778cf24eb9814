"""The websocket side of the ASGI application: /graphql, behind an Origin check."""

from __future__ import annotations

from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from .consumers import graphql_ws_app


class OriginPolicy(OriginValidator):
    """Browsers must come from this site (ALLOWED_HOSTS) or an origin in CORS_ALLOWED_ORIGINS.

    A handshake without an Origin header (a server, a script, a mobile app) is let through:
    authentication is the token in connection_init, never a cookie, so there is no ambient
    credential for a foreign page to ride on; the check keeps other sites' pages from using
    visitors' browsers as clients.
    """

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def websocket_application(schema):
    """The websocket side serving ``schema`` (config/asgi.py passes schema.api.schema)."""
    allowed = [*settings.ALLOWED_HOSTS, *getattr(settings, "CORS_ALLOWED_ORIGINS", [])]
    app = graphql_ws_app(schema)
    routes = URLRouter([path("graphql", app), path("graphql/", app)])
    return OriginPolicy(routes, allowed)
