"""The per-process hub between the channel layer and the websocket connections.

One hub per event loop (one per daphne process). It holds every local subscription and
listens, on ONE channel-layer channel, to exactly the groups they need (common/events.py names
the groups: a per-post group for postUpdated and commentAdded, a per-user group for
notifications, global groups for new posts, deletions and shares). A group message reaches
each process once, whatever the number of local subscribers.

For each event the hub picks the local subscriptions that accept it, then makes ONE executor
job for the event: the event's object is loaded once (``Batch.memo``) and every subscriber's
selection runs as that subscriber; subscribers with the same document, variables and viewer
share one execution. Results go to each connection's bounded outbox; nothing here ever waits
on a client.

Events of one group are processed in order, a group at a time (so a subscriber sees them in
order); several pending events of a group go to the executor in one job. ``post_updated``
events are coalesced per post: at most one job per ``POST_UPDATED_INTERVAL``, the first at once,
the last after the burst, each loading fresh counts.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from channels.layers import get_channel_layer

from common import metrics

from .conf import conf
from .executor import run_sync
from .loop_local import loop_local
from .operations import Batch, SocketContext, Stream, is_error_payload, new_request_id, run_event

logger = logging.getLogger(__name__)

COALESCED_KINDS = frozenset({"post_updated"})
EVENTS_PER_JOB = 64


@dataclass(eq=False)
class Sub:
    """One active subscription of one connection."""

    conn: Any  # the consumer: .deliver(op_id, payload_json)
    op_id: str
    stream: Stream
    viewer: Any
    active: bool = True
    last_state: str | None = None  # a coalesced kind's last payload: the same state again is not sent

    @property
    def viewer_id(self) -> int | None:
        return self.viewer.pk if getattr(self.viewer, "is_authenticated", False) else None


@dataclass
class _Throttle:
    last: float = -math.inf
    timer: asyncio.TimerHandle | None = None
    queued: bool = False  # a flush waits in the group's queue; it will load fresh data anyway


@dataclass
class _Group:
    subs: set = field(default_factory=set)
    pending: deque = field(default_factory=deque)  # (kind, data, [subs])
    worker: asyncio.Task | None = None
    throttle: _Throttle = field(default_factory=_Throttle)


class Hub:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.groups: dict[str, _Group] = {}
        self.joined: set[str] = set()  # groups the channel is in on the layer
        self._layer_lock = asyncio.Lock()
        self._listener: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self.keepalive_conns: set = set()
        self._keepalive_timer: asyncio.TimerHandle | None = None

    # --- subscriptions ---------------------------------------------------------------------
    async def add(self, sub: Sub) -> None:
        """Registers ``sub``; when this returns its groups are joined on the layer (events reach it)."""
        for name in sub.stream.topic.groups:
            self.groups.setdefault(name, _Group()).subs.add(sub)
        metrics.SUBSCRIPTIONS.inc()
        for name in sub.stream.topic.groups:
            await self._sync_membership(name)

    def remove(self, sub: Sub) -> None:
        if sub.active:
            metrics.SUBSCRIPTIONS.dec()
        sub.active = False
        for name in sub.stream.topic.groups:
            group = self.groups.get(name)
            if group is None:
                continue
            group.subs.discard(sub)
            if not group.subs:
                self._spawn(self._sync_membership(name))

    def subscriptions(self, group: str) -> int:
        group_ = self.groups.get(group)
        return len(group_.subs) if group_ else 0

    async def _sync_membership(self, name: str) -> None:
        """Joins or leaves the layer group so that membership matches local interest."""
        async with self._layer_lock:
            if self.layer is None:
                raise RuntimeError("No channel layer is configured (CHANNEL_LAYERS).")
            if self.channel is None:
                self.channel = await self.layer.new_channel("realtime.")
                self._listener = self.loop.create_task(self._listen())
            group = self.groups.get(name)
            wanted = group is not None and bool(group.subs)
            if wanted and name not in self.joined:
                await self.layer.group_add(name, self.channel)
                self.joined.add(name)
            elif not wanted and name in self.joined:
                await self.layer.group_discard(name, self.channel)
                self.joined.discard(name)
            if not wanted and group is not None and not group.subs:
                if group.throttle.timer is not None:
                    group.throttle.timer.cancel()
                    group.throttle.timer = None
                if group.worker is None:
                    self.groups.pop(name, None)

    # --- events ----------------------------------------------------------------------------
    async def _listen(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep listening; channels-redis reconnects
                logger.exception("realtime: receiving from the channel layer failed")
                await asyncio.sleep(1)
                continue
            try:
                self.on_event(message)
            except Exception:  # noqa: BLE001
                logger.exception("realtime: could not dispatch %r", message)

    def on_event(self, message: dict) -> None:
        name, kind, data = message.get("group"), message.get("kind"), message.get("data") or {}
        group = self.groups.get(name)
        if group is None or not group.subs:
            return
        if kind in COALESCED_KINDS:
            self._coalesce(name, group, kind, data)
        else:
            self._enqueue(name, group, kind, data)

    def _coalesce(self, name: str, group: _Group, kind: str, data: dict) -> None:
        throttle = group.throttle
        if throttle.timer is not None or throttle.queued:
            return  # a flush is coming and will load the state after this event
        delay = max(0.0, throttle.last + float(conf("POST_UPDATED_INTERVAL")) - self.loop.time())
        throttle.timer = self.loop.call_later(delay, self._flush, name, group, kind, data)

    def _flush(self, name: str, group: _Group, kind: str, data: dict) -> None:
        throttle = group.throttle
        throttle.timer = None
        throttle.last = self.loop.time()
        throttle.queued = True
        self._enqueue(name, group, kind, data)

    def _enqueue(self, name: str, group: _Group, kind: str, data: dict) -> None:
        subs = [sub for sub in group.subs if sub.active and sub.stream.topic.accept(kind, data)]
        if not subs:
            group.throttle.queued = False
            return
        if len(group.pending) >= int(conf("MAX_PENDING_EVENTS")):
            group.pending.popleft()
            logger.warning("realtime: group %s is behind; dropped its oldest event", name)
        group.pending.append((kind, data, subs))
        if group.worker is None:
            group.worker = self.loop.create_task(self._work(name, group))

    async def _work(self, name: str, group: _Group) -> None:
        try:
            while group.pending:
                events = [group.pending.popleft() for _ in range(min(EVENTS_PER_JOB, len(group.pending)))]
                if any(kind in COALESCED_KINDS for kind, _, _ in events):
                    group.throttle.queued = False
                try:
                    await run_sync(process_events, events, self._emit)
                except Exception:  # noqa: BLE001 - a failed job loses its events, never the hub
                    logger.exception("realtime: processing events of %s failed", name)
        finally:
            group.worker = None
            if not group.subs and self.groups.get(name) is group and group.throttle.timer is None:
                self.groups.pop(name, None)

    def _emit(self, results: list) -> None:
        """From the executor thread: results to hand to the connections, in order, on the loop."""
        self.loop.call_soon_threadsafe(self._deliver, results)

    def _deliver(self, results: list) -> None:
        for sub, payload in results:
            if sub.active:
                sub.conn.deliver(sub.op_id, payload)
                metrics.EVENTS_DELIVERED.inc()

    # --- legacy keep-alives ----------------------------------------------------------------
    def want_keepalive(self, conn) -> None:
        self.keepalive_conns.add(conn)
        if self._keepalive_timer is None:
            self._keepalive_timer = self.loop.call_later(float(conf("KEEPALIVE_INTERVAL")), self._keepalive)

    def drop_keepalive(self, conn) -> None:
        self.keepalive_conns.discard(conn)

    def _keepalive(self) -> None:
        self._keepalive_timer = None
        for conn in list(self.keepalive_conns):
            conn.keepalive()
        if self.keepalive_conns:
            self._keepalive_timer = self.loop.call_later(float(conf("KEEPALIVE_INTERVAL")), self._keepalive)

    def _spawn(self, coroutine) -> None:
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def process_events(events: list, emit=None, chunk: int = 100) -> list:
    """Executor job: for each event, load its object once per source and run every subscriber's selection.

    Subscribers with the same document, variables and viewer share one execution; the topic's
    ``prime`` answers the viewers' loaders for all of them at once. Results [(sub, payload_json)]
    go to ``emit`` every ``chunk`` of them (so the first subscribers need not wait for the last),
    in event order; without ``emit`` they are returned.
    """
    out: list = []
    for kind, data, subs in events:
        batch = Batch()
        by_source: dict = {}
        for sub in subs:
            topic = sub.stream.topic
            by_source.setdefault((topic.source, topic.prime), []).append(sub)
        for (source, prime), group in by_source.items():
            try:
                root, receivers = source(batch, kind, data, group)
            except Exception:  # noqa: BLE001
                logger.exception("realtime: loading %s %r failed", kind, data)
                continue
            if root is None:
                continue
            contexts = {}
            for sub in receivers:
                if sub.stream.share_key not in contexts:
                    contexts[sub.stream.share_key] = SocketContext(sub.viewer, new_request_id())
            if prime is not None:
                try:
                    prime(root, list(contexts.values()), frozenset().union(*(s.stream.field_names for s in receivers)))
                except Exception:  # noqa: BLE001 - the executions load what priming did not
                    logger.exception("realtime: priming %s failed", kind)
            payloads: dict = {}
            for sub in receivers:
                key = sub.stream.share_key
                payload = payloads.get(key)
                if payload is None:
                    payload = payloads[key] = run_event(sub.stream, root, contexts[key])
                if kind in COALESCED_KINDS and not is_error_payload(payload):
                    # A flush reads the state after its events, so it may already show a later event's commit;
                    # that event's own flush then finds nothing new to say. (An error is always said.)
                    if payload == sub.last_state:
                        continue
                    sub.last_state = payload
                out.append((sub, payload))
                if emit is not None and len(out) >= chunk:
                    emit(out)
                    out = []
    if emit is not None and out:
        emit(out)
        out = []
    return out


def get_hub() -> Hub:
    """This event loop's hub (kept on the loop, so it goes away with it)."""
    return loop_local("realtime_hub", Hub)
