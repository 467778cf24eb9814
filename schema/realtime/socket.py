"""What both websocket subprotocols share: :class:`GraphQLSocket`.

The message-size limit, JSON parsing, the operations table (at most MAX_OPERATIONS), running
operations in the executor, and a bounded outbox. A consumer never waits on its client: the hub
drops messages into the outbox, a writer task drains it while it has something to write, and a
client that falls behind is closed with 4503 instead of growing memory — see docs/realtime.md.

Idle connections cost no task besides the one Channels needs to receive, and no channel-layer
channel: the process's hub listens for all of them. The subprotocols are
schema/realtime/transport_ws.py and schema/realtime/legacy_ws.py; schema/realtime/consumers.py
picks one per connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from common.client_address import client_address

from ..core import budget
from ..core.auth import authenticate
from ..core.errors import RateLimited, RequestErrorCode, Unauthenticated, request_error
from . import operations
from .conf import conf
from .executor import run_sync
from .hub import Sub, get_hub
from .sessions import get_guard
from .wire import BadFrame, TooDeep, decode, unsent_chars

logger = logging.getLogger("schema.realtime.consumers")

# Close codes (graphql-transport-ws's, plus the standard ones this server uses).
BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
DUPLICATE_ID = 4409
TOO_MANY_INITS = 4429
TOO_MANY_MESSAGES = 4429  # a connection-level flood (operations over budget get RATE_LIMITED errors instead)
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

    def __init__(self, *args, schema, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema  # what this endpoint serves (config/asgi.py)
        self.viewer = AnonymousUser()
        self.ops: dict[str, object] = {}  # id -> Pending (starting) | Sub (a running subscription)
        self.outbox: deque[str] = deque()
        self.outbox_chars = 0
        self.writer: asyncio.Task | None = None
        self.closing = False  # no more messages are queued
        self.close_sent = False
        self.hub = None
        self.tasks: set[asyncio.Task] = set()  # operations being started
        self.events = EventCharges(self)  # subscription events against the caller's budget
        self.flood = MessageRate()  # messages per second from the client
        # This connection's fair share of the executor: its operations run at most this many at a
        # time, the rest wait in order (FIFO), so one socket's heavy queries cannot starve the others.
        self.run_slots = asyncio.Semaphore(int(conf("OPERATION_CONCURRENCY")))
        self.init_received = False
        self.init_timer: asyncio.TimerHandle | None = None

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
        self.init_timer = asyncio.get_running_loop().call_later(
            float(conf("CONNECTION_INIT_TIMEOUT")), self._init_timeout
        )
        self.opened()

    def _init_timeout(self) -> None:
        # Both protocols: a socket that never sends connection_init is closed 4408.
        if not self.init_received and not self.closing:
            task = asyncio.get_running_loop().create_task(
                self.close_with(INIT_TIMEOUT, "Connection initialisation timeout"))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def init_arrived(self) -> None:
        """connection_init came: the init timeout no longer applies."""
        self.init_received = True
        if self.init_timer is not None:
            self.init_timer.cancel()

    async def websocket_disconnect(self, message):
        # Channels' default also closes stale DB connections (a thread hop); nothing to close here.
        self.shutdown()
        raise StopConsumer()

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        if self.flood.exceeded(float(conf("MAX_MESSAGES_PER_SECOND"))):
            return await self.close_with(TOO_MANY_MESSAGES, "Too many messages; slow down")
        if text_data is None:
            return await self.bad_message("Messages must be text (JSON).")
        limit = int(conf("MAX_MESSAGE_BYTES"))
        if len(text_data) > limit or (len(text_data) * 4 > limit and len(text_data.encode()) > limit):
            return await self.too_big(limit)
        try:
            message = decode(text_data, int(conf("MAX_JSON_DEPTH")))
        except TooDeep as error:
            return await self.close_with(BAD_REQUEST, str(error))
        except BadFrame as error:
            return await self.bad_message(str(error))
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
        """After each message written: a client that leaves more than LAG_MAX_BYTES unread in daphne's
        buffer is too slow (4503), on both protocols."""
        unsent = unsent_chars(self.base_send)
        if unsent is not None and unsent > int(conf("LAG_MAX_BYTES")):
            self.too_slow(f"{unsent} bytes not yet written to the client")

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
        """The hub's entry point: one event's result for the subscription ``op_id``. While an event charge is in
        flight, events wait for its answer, so none goes out after the one that spent the budget."""
        if self.events.charging:
            self.events.hold(op_id, payload_json)
        elif isinstance(self.ops.get(op_id), Sub):
            self.push(self.format_next(op_id, payload_json))
            self.events.delivered()

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
        if self.init_timer is not None:
            self.init_timer.cancel()
        if getattr(self.viewer, "is_authenticated", False):
            get_guard().unwatch(self)
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
        if self.viewer.is_authenticated:
            await get_guard().watch(self)  # closed when the session ends or the account is disabled
        return True

    def access_ended(self) -> None:
        """The viewer's session ended, or the account was disabled or deleted: close with 4403 at once."""
        if self.close_sent:
            return
        self.end_operations()  # private streams stop now, not after the close handshake
        task = asyncio.get_running_loop().create_task(self.close_with(FORBIDDEN, "Forbidden: the session has ended"))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def too_many_operations(self) -> dict | None:
        """The RATE_LIMITED error when the connection has MAX_OPERATIONS active operations; else None."""
        limit = int(conf("MAX_OPERATIONS"))
        if len(self.ops) < limit:
            return None
        return RateLimited(f"Too many active operations on this connection (at most {limit}).").as_dict()

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
        async with self.run_slots:  # this connection's share of the executor, in order
            if self.ops.get(op_id) is not pending:
                return None  # completed (or the socket closed) while waiting for a slot
            result = await run_sync(
                operations.start, self.schema, self.viewer, payload["query"], payload.get("variables"),
                payload.get("operationName"), operations.new_request_id(), self.client_address(),
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
                return operations.Refused([request_error(RequestErrorCode.SERVICE_UNAVAILABLE,
                                                         "Subscriptions are unavailable right now; retry shortly.")])
            if self.ops.get(op_id) is not sub:  # completed while joining
                self.hub.remove(sub)
                return None
        else:
            self.ops.pop(op_id, None)
        return result

    def client_address(self) -> str:
        """The caller's address (common.client_address: the peer, or X-Forwarded-For from TRUSTED_PROXIES)."""
        return client_address(self.scope or {})

    def rate_limited(self) -> None:
        """The caller's budget is spent: every subscription of the connection ends with RATE_LIMITED."""
        for op_id, op in list(self.ops.items()):
            if isinstance(op, Sub):
                self.end_operation(op_id)
                self.operation_started(op_id, operations.Refused([RateLimited(
                    "The rate-limit budget is spent; subscribe again after it resets.").as_dict()]))

    def end_operation(self, op_id: str) -> bool:
        """Forgets an operation (the client completed or stopped it); whether it was active."""
        op = self.ops.pop(op_id, None)
        if isinstance(op, Sub):
            self.hub.remove(op)
        return op is not None


def payload_problem(payload) -> str | None:
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


class MessageRate:
    """Messages per second from one client: a token bucket holding two seconds' worth (a client may
    subscribe to MAX_OPERATIONS things at once on connecting)."""

    def __init__(self) -> None:
        self.tokens: float | None = None
        self.at = 0.0

    def exceeded(self, per_second: float) -> bool:
        now = time.monotonic()
        if self.tokens is None:
            self.tokens = 2 * per_second
        self.tokens = min(2 * per_second, self.tokens + (now - self.at) * per_second)
        self.at = now
        if self.tokens < 1:
            return True
        self.tokens -= 1
        return False


class EventCharges:
    """Subscription events cost a point per GRAPHQL_SUBSCRIPTION_EVENTS_PER_POINT delivered (schema/core/budget.py):
    charged in the executor, off the event loop; over budget, the connection's subscriptions end. Events that
    arrive while a charge is in flight are held until it answers (at most the outgoing queue's length): refused,
    they are dropped with the subscriptions; allowed, they go out in order."""

    def __init__(self, socket: GraphQLSocket) -> None:
        self.socket = socket
        self.count = 0
        self.charging = False  # a charge is in flight: events wait for its answer
        self.held: list[tuple[str, str]] = []

    def delivered(self) -> None:
        self.count += 1
        per_point = max(1, int(getattr(settings, "GRAPHQL_SUBSCRIPTION_EVENTS_PER_POINT", 10)))
        if self.count % per_point == 0:
            self.charging = True
            task = asyncio.get_running_loop().create_task(self._charge())
            self.socket.tasks.add(task)
            task.add_done_callback(self.socket.tasks.discard)

    def hold(self, op_id: str, payload_json: str) -> None:
        if len(self.held) >= int(conf("QUEUE_MAX_MESSAGES")):
            self.socket.too_slow("events held while the budget is charged")
            return
        self.held.append((op_id, payload_json))

    async def _charge(self) -> None:
        socket = self.socket
        context = operations.SocketContext(socket.viewer, "", socket.client_address())
        try:
            allowed = (await run_sync(budget.charge, context, 1, force=True)).allowed
        except Exception:  # the budget fails open, as it does for operations
            logger.exception("realtime: charging subscription events failed")
            allowed = True
        finally:
            self.charging = False
        held, self.held = self.held, []
        if not allowed:
            if not socket.closing:
                socket.rate_limited()
            return
        for op_id, payload_json in held:  # a new charge may start midway: the rest are held again, in order
            socket.deliver(op_id, payload_json)
