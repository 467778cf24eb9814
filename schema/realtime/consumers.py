"""The websocket endpoint: GraphQL over graphql-transport-ws, and the legacy graphql-ws subprotocol.

``graphql_ws_app`` picks the consumer by the Sec-WebSocket-Protocol the client offers
(graphql-transport-ws preferred); with neither, the socket is closed with 4406.

Both consumers share :class:`GraphQLSocket`: the message-size limit, JSON parsing, the
operations table (at most MAX_OPERATIONS), running operations in the executor, and a bounded
outbox. A consumer never waits on its client: the hub drops messages into the outbox, a writer
task drains it while it has something to write, and a client that falls behind is closed with
4503 instead of growing memory — see docs/realtime.md.

Idle connections cost no task besides the one Channels needs to receive, and no channel-layer
channel: the process's hub listens for all of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import AnonymousUser

from ..core.auth import authenticate
from ..core.errors import Unauthenticated
from . import operations
from .conf import conf
from .executor import run_sync
from .hub import Sub, get_hub

logger = logging.getLogger(__name__)

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

# Close codes (graphql-transport-ws's, plus the standard ones this server uses).
BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
DUPLICATE_ID = 4409
TOO_MANY_INITS = 4429
INTERNAL_ERROR = 4500
# A client that can't keep up. (1013 Try Again Later would be the standard code, but daphne's
# websocket library only sends 1000 and 3000-4999.) graphql-ws clients retry after it.
TOO_SLOW = 4503


class Pending:
    """An operation that is being started (in the executor); its id is taken."""

    __slots__ = ()


class GraphQLSocket(AsyncWebsocketConsumer):
    subprotocol = ""
    # No per-connection channel-layer channel: the hub listens on one channel for the process.
    channel_layer_alias = "__realtime_hub_only__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.viewer = AnonymousUser()
        self.ops: dict[str, object] = {}  # id -> Pending (starting) | Sub (a running subscription)
        self.outbox: deque[str] = deque()
        self.outbox_chars = 0
        self.writer: asyncio.Task | None = None
        self.closing = False  # no more messages are queued
        self.close_sent = False
        self.hub = None
        self.tasks: set[asyncio.Task] = set()  # operations being started

    # --- Channels hooks ----------------------------------------------------------------------
    async def dispatch(self, message):
        # Channels' default closes stale DB connections (a thread hop) before every message;
        # this consumer never touches the database on the event loop.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        await self.accept(self.subprotocol)
        self.hub = get_hub()
        self.opened()

    async def websocket_disconnect(self, message):
        # Channels' default also closes stale DB connections (a thread hop); nothing to close here.
        self.shutdown()
        raise StopConsumer()

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        if text_data is None:
            return await self.bad_message("Messages must be text (JSON).")
        limit = int(conf("MAX_MESSAGE_BYTES"))
        if len(text_data) > limit or (len(text_data) * 4 > limit and len(text_data.encode()) > limit):
            return await self.too_big(limit)
        try:
            message = json.loads(text_data)
        except ValueError:
            return await self.bad_message("The message is not valid JSON.")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return await self.bad_message('A message must be a JSON object with a string "type".')
        try:
            await self.on_message(message["type"], message)
        except Exception:  # noqa: BLE001 - never a stack trace for the client
            logger.exception("realtime: handling a %s message failed", message.get("type"))
            await self.internal_error()

    # --- to override ---------------------------------------------------------------------------
    def opened(self) -> None:
        pass

    async def on_message(self, kind: str, message: dict) -> None:
        raise NotImplementedError

    async def bad_message(self, reason: str) -> None:
        raise NotImplementedError

    async def too_big(self, limit: int) -> None:
        raise NotImplementedError

    async def internal_error(self) -> None:
        await self.close_with(INTERNAL_ERROR, "Internal server error")

    def format_next(self, op_id: str, payload_json: str) -> str:
        raise NotImplementedError

    def after_send(self, chars: int) -> None:
        pass

    # --- outgoing ------------------------------------------------------------------------------
    def push(self, text: str) -> None:
        """Queues a message for the client; never waits. A client that can't keep up is closed."""
        if self.closing:
            return
        if (len(self.outbox) >= int(conf("QUEUE_MAX_MESSAGES"))
                or self.outbox_chars + len(text) > int(conf("QUEUE_MAX_BYTES"))):
            self.too_slow("outgoing queue full")
            return
        self.outbox.append(text)
        self.outbox_chars += len(text)
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._drain())

    def send_json(self, message: dict) -> None:
        self.push(operations.dumps(message))

    async def _drain(self) -> None:
        try:
            while self.outbox:
                text = self.outbox.popleft()
                self.outbox_chars -= len(text)
                await self.send(text_data=text)
                self.after_send(len(text))
        finally:
            self.writer = None

    def deliver(self, op_id: str, payload_json: str) -> None:
        """The hub's entry point: one event's result for the subscription ``op_id``."""
        if isinstance(self.ops.get(op_id), Sub):
            self.push(self.format_next(op_id, payload_json))

    def too_slow(self, why: str) -> None:
        """Drops what is queued and closes with 4503; from now on nothing more is queued."""
        if self.close_sent:
            return
        logger.info("realtime: closing a connection that can't keep up (%s)", why)
        self.end_operations()
        self.outbox.clear()
        self.outbox_chars = 0
        task = asyncio.get_running_loop().create_task(
            self.close_with(TOO_SLOW, "Too slow to keep up; reconnect and subscribe again")
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close_with(self, code: int, reason: str) -> None:
        """Ends every operation, writes out what is already queued, then closes."""
        if self.close_sent:
            return
        self.close_sent = True
        self.end_operations()
        if self.writer is not None:
            await self.writer
        await self.close(code=code, reason=reason[:120])

    def shutdown(self) -> None:
        """The socket is closed: forget everything. Idempotent."""
        self.end_operations()
        self.outbox.clear()
        self.outbox_chars = 0

    def end_operations(self) -> None:
        """No more messages are queued, no operation goes on."""
        self.closing = True
        for op in self.ops.values():
            if isinstance(op, Sub):
                self.hub.remove(op)
        self.ops.clear()
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        if self.hub is not None:
            self.hub.drop_keepalive(self)

    # --- operations ----------------------------------------------------------------------------
    async def authenticate(self, payload) -> bool:
        """Sets the viewer from {"authorization": "Bearer <token>"}; False for a bad token."""
        authorization = None
        for key, value in (payload or {}).items():
            if key.lower() == "authorization":
                if not isinstance(value, str):
                    return False
                authorization = value
        if not authorization:
            return True  # anonymous
        try:
            self.viewer = await run_sync(authenticate, authorization)
        except Unauthenticated:
            return False
        return True

    def too_many_operations(self) -> bool:
        return len(self.ops) >= int(conf("MAX_OPERATIONS"))

    def start_operation(self, op_id: str, payload: dict) -> None:
        """Reserves ``op_id`` and starts the operation in the background.

        The connection keeps reading meanwhile (pings, completes, other operations); the result
        goes to ``operation_started``.
        """
        pending = self.ops[op_id] = Pending()
        task = asyncio.get_running_loop().create_task(self._start(op_id, pending, payload))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _start(self, op_id: str, pending: Pending, payload: dict) -> None:
        try:
            result = await self._run(op_id, pending, payload)
            if result is not None and not self.closing:
                self.operation_started(op_id, result)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - never a stack trace for the client
            logger.exception("realtime: starting operation %s failed", op_id)
            await self.internal_error()

    def operation_started(self, op_id: str, result) -> None:
        raise NotImplementedError

    async def _run(self, op_id: str, pending: Pending, payload: dict):
        """Runs operations.start; None when the client completed the operation (or the socket closed)
        meanwhile. A Stream is registered with the hub before this returns.
        """
        result = await run_sync(
            operations.start, self.viewer, payload["query"], payload.get("variables"),
            payload.get("operationName"), operations.new_request_id(),
        )
        if self.ops.get(op_id) is not pending:
            return None
        if isinstance(result, operations.Stream):
            sub = Sub(self, op_id, result, self.viewer)
            self.ops[op_id] = sub
            try:
                await self.hub.add(sub)
            except Exception:  # noqa: BLE001
                logger.exception("realtime: could not join the channel layer")
                self.ops.pop(op_id, None)
                self.hub.remove(sub)
                return operations.Refused([{"message": "Subscriptions are unavailable right now.",
                                            "extensions": {"code": "INTERNAL_SERVER_ERROR"}}])
            if self.ops.get(op_id) is not sub:  # completed while joining
                self.hub.remove(sub)
                return None
        else:
            self.ops.pop(op_id, None)
        return result

    def end_operation(self, op_id: str) -> bool:
        """Forgets an operation (the client completed or stopped it); whether it was active."""
        op = self.ops.pop(op_id, None)
        if isinstance(op, Sub):
            self.hub.remove(op)
        return op is not None


def _payload_problem(payload) -> str | None:
    """What is wrong with a subscribe/start payload, or None."""
    if not isinstance(payload, dict):
        return "The payload must be an object."
    if not isinstance(payload.get("query"), str):
        return 'The payload needs a "query" string.'
    if payload.get("variables") is not None and not isinstance(payload["variables"], dict):
        return '"variables" must be an object.'
    if payload.get("operationName") is not None and not isinstance(payload["operationName"], str):
        return '"operationName" must be a string.'
    if payload.get("extensions") is not None and not isinstance(payload["extensions"], dict):
        return '"extensions" must be an object.'
    return None


class TransportWSConsumer(GraphQLSocket):
    """graphql-transport-ws (the graphql-ws library's PROTOCOL.md)."""

    subprotocol = TRANSPORT_WS

    def opened(self) -> None:
        self.init_received = False
        self.acknowledged = False
        self.init_timer = asyncio.get_running_loop().call_later(
            float(conf("CONNECTION_INIT_TIMEOUT")), self._init_timeout
        )
        # Flow control: bytes sent, bytes the client confirmed (by answering a ping sent after them).
        self.sent = 0
        self.confirmed = 0
        self.ping_seq = 0
        self.ping_mark: int | None = None  # `sent` when the outstanding ping went out

    def _init_timeout(self) -> None:
        if not self.init_received and not self.closing:
            asyncio.get_running_loop().create_task(self.close_with(INIT_TIMEOUT, "Connection initialisation timeout"))

    def end_operations(self) -> None:
        timer = getattr(self, "init_timer", None)
        if timer is not None:
            timer.cancel()
        super().end_operations()

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
        self.init_received = True
        self.init_timer.cancel()
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
        problem = _payload_problem(message.get("payload"))
        if problem:
            return await self.bad_message(problem)
        if op_id in self.ops:
            return await self.close_with(DUPLICATE_ID, f"Subscriber for {op_id[:80]} already exists")
        if self.too_many_operations():
            limit = int(conf("MAX_OPERATIONS"))
            return self.send_json({"id": op_id, "type": "error", "payload": [{
                "message": f"Too many active operations on this connection (at most {limit}).",
                "extensions": {"code": "RATE_LIMITED"}}]})
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

    def op_error(self, op_id, message: str, code: str) -> None:
        self.send_json({"id": op_id, "type": "error", "payload": {"message": message, "extensions": {"code": code}}})

    async def on_message(self, kind: str, message: dict) -> None:
        handler = self.HANDLERS.get(kind)
        if handler is None:
            return self.connection_error(f'Unknown message type "{kind[:40]}".')
        await handler(self, message)

    async def on_init(self, message: dict) -> None:
        if self.acknowledged:
            return self.connection_error("The connection is already initialised.")
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
            return self.op_error(op_id, "Send connection_init first.", "UNAUTHENTICATED")
        problem = _payload_problem(message.get("payload"))
        if problem:
            return self.op_error(op_id, problem, "BAD_USER_INPUT")
        # subscriptions-transport-ws: a start with an id in use replaces that operation.
        self.end_operation(op_id)
        if self.too_many_operations():
            limit = int(conf("MAX_OPERATIONS"))
            return self.op_error(op_id, f"Too many active operations on this connection (at most {limit}).",
                                 "RATE_LIMITED")
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


class _NoProtocol(GraphQLSocket):
    async def connect(self):
        await self.accept()
        await self.close(code=SUBPROTOCOL_NOT_ACCEPTABLE, reason="Subprotocol not acceptable")


_transport_app = TransportWSConsumer.as_asgi()
_legacy_app = LegacyWSConsumer.as_asgi()
_refuse_app = _NoProtocol.as_asgi()


async def graphql_ws_app(scope, receive, send):
    """The consumer for the subprotocol the client offers (graphql-transport-ws preferred)."""
    offered = scope.get("subprotocols") or []
    if TRANSPORT_WS in offered:
        return await _transport_app(scope, receive, send)
    if LEGACY_WS in offered:
        return await _legacy_app(scope, receive, send)
    return await _refuse_app(scope, receive, send)
