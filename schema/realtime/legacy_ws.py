"""The legacy graphql-ws subprotocol of subscriptions-transport-ws (older Apollo clients)."""

from __future__ import annotations

from ..core.errors import BadUserInput, Unauthenticated
from . import operations
from .socket import BAD_REQUEST, FORBIDDEN, GraphQLSocket, payload_problem

LEGACY_WS = "graphql-ws"


class LegacyWSConsumer(GraphQLSocket):
    """The graphql-ws subprotocol of subscriptions-transport-ws (older Apollo clients)."""

    subprotocol = LEGACY_WS

    def opened(self) -> None:
        self.acknowledged = False

    def keepalive(self) -> None:
        self.send_json({"type": "ka"})

    def connection_error(self, message: str) -> None:
        self.send_json({"type": "connection_error", "payload": {"message": message}})

    async def bad_message(self, reason: str) -> None:
        # The protocol answers unparsable messages with connection_error and keeps the connection.
        self.connection_error(reason)

    async def too_big(self, limit: int) -> None:
        await self.close_with(BAD_REQUEST, f"Message too large (the limit is {limit} bytes)")

    async def internal_error(self) -> None:
        self.connection_error("Internal server error.")

    def format_next(self, op_id: str, payload_json: str) -> str:
        return f'{{"id":{operations.dumps(op_id)},"type":"data","payload":{payload_json}}}'

    def op_error(self, op_id, error: dict) -> None:
        self.send_json({"id": op_id, "type": "error", "payload": error})

    async def on_message(self, kind: str, message: dict) -> None:
        handler = self.HANDLERS.get(kind)
        if handler is None:
            return self.connection_error(f'Unknown message type "{kind[:40]}".')
        await handler(self, message)

    async def on_init(self, message: dict) -> None:
        if self.acknowledged:
            return self.connection_error("The connection is already initialised.")
        self.init_arrived()
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            return self.connection_error("The connection_init payload must be an object.")
        if not await self.authenticate(payload):
            self.connection_error("The access token is not valid.")
            return await self.close_with(FORBIDDEN, "Forbidden")
        if self.closing:
            return
        self.acknowledged = True
        self.send_json({"type": "connection_ack"})
        self.keepalive()
        self.hub.want_keepalive(self)

    async def on_start(self, message: dict) -> None:
        op_id = message.get("id")
        if not isinstance(op_id, str) or not op_id:
            return self.connection_error('A start message needs a non-empty string "id".')
        if not self.acknowledged:
            return self.op_error(op_id, Unauthenticated("Send connection_init first.").as_dict())
        problem = payload_problem(message.get("payload"))
        if problem:
            return self.op_error(op_id, BadUserInput(problem).as_dict())
        # subscriptions-transport-ws: a start with an id in use replaces that operation.
        self.end_operation(op_id)
        refused = self.too_many_operations()
        if refused:
            return self.op_error(op_id, refused)
        self.start_operation(op_id, message["payload"])

    def operation_started(self, op_id: str, result) -> None:
        if isinstance(result, operations.Refused):
            # Like the reference server: request errors come as a result with `errors`, then complete.
            self.push(self.format_next(op_id, operations.dumps({"errors": result.errors})))
            self.send_json({"id": op_id, "type": "complete"})
        elif isinstance(result, operations.SingleResult):
            self.push(self.format_next(op_id, result.payload))
            self.send_json({"id": op_id, "type": "complete"})

    async def on_stop(self, message: dict) -> None:
        op_id = message.get("id")
        if not isinstance(op_id, str):
            return self.connection_error('A stop message needs a string "id".')
        if self.end_operation(op_id):
            self.send_json({"id": op_id, "type": "complete"})

    async def on_terminate(self, message: dict) -> None:
        await self.close_with(1000, "Terminated")

    HANDLERS = {
        "connection_init": on_init,
        "start": on_start,
        "stop": on_stop,
        "connection_terminate": on_terminate,
    }
