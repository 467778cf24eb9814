"""graphql-transport-ws (the graphql-ws library's PROTOCOL.md): the subprotocol clients should use."""

from __future__ import annotations

from . import operations
from .conf import conf
from .socket import (BAD_REQUEST, DUPLICATE_ID, FORBIDDEN, TOO_MANY_INITS, UNAUTHORIZED, GraphQLSocket,
                     payload_problem)

TRANSPORT_WS = "graphql-transport-ws"


class TransportWSConsumer(GraphQLSocket):
    """graphql-transport-ws (the graphql-ws library's PROTOCOL.md)."""

    subprotocol = TRANSPORT_WS

    def opened(self) -> None:
        self.acknowledged = False
        # Flow control: bytes sent, bytes the client confirmed (by answering a ping sent after them).
        self.sent = 0
        self.confirmed = 0
        self.ping_seq = 0
        self.ping_mark: int | None = None  # `sent` when the outstanding ping went out

    async def bad_message(self, reason: str) -> None:
        await self.close_with(BAD_REQUEST, reason)

    async def too_big(self, limit: int) -> None:
        await self.close_with(BAD_REQUEST, f"Message too large (the limit is {limit} bytes)")

    def format_next(self, op_id: str, payload_json: str) -> str:
        return f'{{"id":{operations.dumps(op_id)},"type":"next","payload":{payload_json}}}'

    async def on_message(self, kind: str, message: dict) -> None:
        handler = self.HANDLERS.get(kind)
        if handler is None:
            return await self.bad_message(f'Unknown message type "{kind[:40]}"')
        await handler(self, message)

    async def on_init(self, message: dict) -> None:
        if self.init_received:
            return await self.close_with(TOO_MANY_INITS, "Too many initialisation requests")
        self.init_arrived()
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            return await self.close_with(BAD_REQUEST, "The connection_init payload must be an object.")
        if not await self.authenticate(payload):
            return await self.close_with(FORBIDDEN, "Forbidden")
        if self.closing:
            return
        self.acknowledged = True
        self.send_json({"type": "connection_ack"})

    async def on_ping(self, message: dict) -> None:
        if message.get("payload") is not None and not isinstance(message["payload"], dict):
            return await self.bad_message("A ping payload must be an object.")
        pong = {"type": "pong"}
        if isinstance(message.get("payload"), dict):
            pong["payload"] = message["payload"]
        self.send_json(pong)

    async def on_pong(self, message: dict) -> None:
        if message.get("payload") is not None and not isinstance(message["payload"], dict):
            return await self.bad_message("A pong payload must be an object.")
        if self.ping_mark is None:
            return  # unsolicited: a heartbeat
        payload = message.get("payload")
        if isinstance(payload, dict) and "seq" in payload and payload["seq"] != self.ping_seq:
            return
        self.confirmed = self.ping_mark
        self.ping_mark = None

    def after_send(self, chars: int) -> None:
        super().after_send(chars)  # daphne's unwritten bytes (both protocols)
        if self.closing:
            return
        self.sent += chars
        lag = self.sent - self.confirmed
        if lag > int(conf("LAG_MAX_BYTES")):
            self.too_slow(f"{lag} characters sent and not confirmed by a pong")
        elif lag > int(conf("LAG_PING_BYTES")) and self.ping_mark is None:
            self.ping_seq += 1
            ping = operations.dumps({"type": "ping", "payload": {"seq": self.ping_seq}})
            self.ping_mark = self.sent + self.outbox_chars + len(ping)  # the ping goes after what is queued
            self.push(ping)

    async def on_subscribe(self, message: dict) -> None:
        if not self.acknowledged:
            return await self.close_with(UNAUTHORIZED, "Unauthorized")
        op_id = message.get("id")
        if not isinstance(op_id, str) or not op_id:
            return await self.bad_message('A subscribe message needs a non-empty string "id".')
        problem = payload_problem(message.get("payload"))
        if problem:
            return await self.bad_message(problem)
        if op_id in self.ops:
            return await self.close_with(DUPLICATE_ID, f"Subscriber for {op_id[:80]} already exists")
        refused = self.too_many_operations()
        if refused:
            return self.send_json({"id": op_id, "type": "error", "payload": [refused]})
        self.start_operation(op_id, message["payload"])

    def operation_started(self, op_id: str, result) -> None:
        if isinstance(result, operations.Refused):
            self.send_json({"id": op_id, "type": "error", "payload": result.errors})
        elif isinstance(result, operations.SingleResult):
            self.push(self.format_next(op_id, result.payload))
            self.send_json({"id": op_id, "type": "complete"})

    async def on_complete(self, message: dict) -> None:
        op_id = message.get("id")
        if not isinstance(op_id, str):
            return await self.bad_message('A complete message needs a string "id".')
        self.end_operation(op_id)  # unknown ids are fine: the operation may have just ended

    HANDLERS = {
        "connection_init": on_init,
        "ping": on_ping,
        "pong": on_pong,
        "subscribe": on_subscribe,
        "complete": on_complete,
    }
