"""The websocket endpoint: GraphQL over graphql-transport-ws, and the legacy graphql-ws subprotocol.

``graphql_ws_app(schema)`` is the ASGI app; it picks the consumer by the Sec-WebSocket-Protocol the client offers
(graphql-transport-ws preferred); with neither, the socket is closed with 4406. The consumers:
schema/realtime/transport_ws.py and schema/realtime/legacy_ws.py, on the shared
schema/realtime/socket.py.
"""

from __future__ import annotations

from .legacy_ws import LEGACY_WS, LegacyWSConsumer
from .socket import SUBPROTOCOL_NOT_ACCEPTABLE, GraphQLSocket
from .transport_ws import TRANSPORT_WS, TransportWSConsumer


class _NoProtocol(GraphQLSocket):
    async def connect(self):
        await self.accept()
        await self.close(code=SUBPROTOCOL_NOT_ACCEPTABLE, reason="Subprotocol not acceptable")


def graphql_ws_app(schema):
    """The websocket ASGI app serving ``schema``: the consumer for the subprotocol the client offers
    (graphql-transport-ws preferred)."""
    transport_app = TransportWSConsumer.as_asgi(schema=schema)
    legacy_app = LegacyWSConsumer.as_asgi(schema=schema)
    refuse_app = _NoProtocol.as_asgi(schema=schema)

    async def app(scope, receive, send):
        offered = scope.get("subprotocols") or []
        if TRANSPORT_WS in offered:
            return await transport_app(scope, receive, send)
        if LEGACY_WS in offered:
            return await legacy_app(scope, receive, send)
        return await refuse_app(scope, receive, send)

    return app
