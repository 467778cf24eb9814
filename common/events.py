"""Domain events for realtime delivery, sent only after the transaction commits.

Services call :func:`publish` inside their transaction; nothing is sent if it
rolls back. Delivery goes through the Channels layer (channels-redis), so
subscribers on every server process receive it. The websocket layer
(schema/realtime) decides which subscribers get what.

Event kinds and their data (ids only; subscribers load what their selection needs):
- ``post_created``: post_id, author_id, hashtags
- ``post_updated``: post_id  (edits and counter changes; coalesced for subscribers); ``content=True`` when
  more than a counter changed (the post's edit, a comment's deletion)
- ``post_deleted``: post_id, author_id
- ``comment_added``: comment_id, post_id
- ``share_created``: share_id, post_id, user_id
- ``notification_created``: notification_id, recipient_id
- ``session_revoked``: user_id, session_id  (a login session ended: logout, refresh-token replay)
- ``user_deactivated``: user_id  (an account was deactivated or deleted)

Each event goes to ONE channel-layer group (:func:`group_of`), so a process listening to it
gets it once, however many of its websockets want it:
- per post: ``post.<id>.updated`` (postUpdated), ``post.<id>.comments`` (commentAdded);
- per user: ``user.<id>.notifications`` (notificationReceived), ``user.<id>.sessions`` (the
  last two kinds: that user's open websockets are closed, schema/realtime/sessions.py);
- global: ``posts.created`` (postCreated, feedUpdated), ``posts.deleted`` (postDeleted),
  ``shares.created`` (feedUpdated).
A new post by an author with a million followers is one message per process, not a million:
each process checks which of ITS feed subscribers follow the author (one query) — see
docs/realtime.md.

The response cache (common/response_cache_bus.py): :func:`publish` ends its content generation at the
same commit for ``post_deleted``, ``user_deactivated`` and any event published with ``content=True``;
the other kinds only change counters or add to lists, which the cache may show late (by at most
``RESPONSE_CACHE_MAX_STALENESS``).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction

from . import response_cache_bus
from .metrics import EVENTS_PUBLISHED

logger = logging.getLogger(__name__)

POSTS_CREATED = "posts.created"
POSTS_DELETED = "posts.deleted"
SHARES_CREATED = "shares.created"


def post_updated_group(post_id: int) -> str:
    return f"post.{int(post_id)}.updated"


def comments_group(post_id: int) -> str:
    return f"post.{int(post_id)}.comments"


def notifications_group(user_id: int) -> str:
    return f"user.{int(user_id)}.notifications"


def sessions_group(user_id: int) -> str:
    return f"user.{int(user_id)}.sessions"


_GROUPS = {
    "post_created": lambda data: POSTS_CREATED,
    "post_updated": lambda data: post_updated_group(data["post_id"]),
    "post_deleted": lambda data: POSTS_DELETED,
    "comment_added": lambda data: comments_group(data["post_id"]),
    "share_created": lambda data: SHARES_CREATED,
    "notification_created": lambda data: notifications_group(data["recipient_id"]),
    "session_revoked": lambda data: sessions_group(data["user_id"]),
    "user_deactivated": lambda data: sessions_group(data["user_id"]),
}

KINDS = frozenset(_GROUPS)


def group_of(kind: str, data: dict) -> str:
    """The channel-layer group an event goes to."""
    return _GROUPS[kind](data)


_sync_clients: dict = {}  # the channel layer's Redis address -> a pooled sync client (thread- and fork-safe)


def _sync_client(host):
    """A sync Redis client for one ``hosts`` entry of channels-redis (a URL or {"address": URL, ...});
    None for other forms (sentinels, (host, port) pairs), which go through ``group_send``."""
    if isinstance(host, str):
        address, options = host, {}
    elif isinstance(host, dict) and isinstance(host.get("address"), str):
        options = {key: value for key, value in host.items() if key != "address"}
        address = host["address"]
    else:
        return None
    key = (address, repr(sorted(options.items())))
    client = _sync_clients.get(key)
    if client is None:
        import redis

        timeout = float(getattr(settings, "REDIS_SOCKET_TIMEOUT", 2))
        options.setdefault("socket_connect_timeout", timeout)  # a dead Redis never holds up a write
        options.setdefault("socket_timeout", timeout)
        client = _sync_clients.setdefault(key, redis.Redis.from_url(address, **options))
    return client


def _publish_sync(layer, group: str, message: dict) -> bool:
    """PUBLISH straight to Redis for channels-redis's pub/sub layer with one host.

    ``group_send`` is a coroutine: from a sync service it costs an event loop hop and, outside a
    server, a new Redis connection per event (~4 ms of CPU, more than a like's SQL). The pub/sub
    layer's ``group_send`` is one PUBLISH of the serialized message on ``<prefix>__group__<group>``
    (channels-redis 4.3, pinned) to its (single) host; this does that PUBLISH on a pooled sync
    connection to THAT host (the channel layer's, which need not be the cache's).
    Falls back to ``group_send`` for any other layer or host form.
    """
    from channels_redis.pubsub import RedisPubSubChannelLayer

    config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    hosts = config.get("hosts") or []
    if not isinstance(layer, RedisPubSubChannelLayer) or isinstance(hosts, (str, bytes)) or len(hosts) != 1:
        return False
    client = _sync_client(hosts[0])
    if client is None:
        return False
    channel = f"{config.get('prefix', 'asgi')}__group__{group}"
    client.publish(channel, layer.serialize(message))
    return True


def _send(kind: str, data: dict) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        group = group_of(kind, data)
        message = {"type": "domain.event", "group": group, "kind": kind, "data": data}
        if not _publish_sync(layer, group, message):
            async_to_sync(layer.group_send)(group, message)
        EVENTS_PUBLISHED.labels(kind).inc()
    except Exception:  # noqa: BLE001 - a lost realtime message must never fail the write
        logger.exception("could not publish %s event", kind)


def publish(kind: str, **data) -> None:
    """Sends the event once the current transaction commits (at once outside a transaction)."""
    if kind not in _GROUPS:
        raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(sorted(_GROUPS))}")
    if response_cache_bus.event_changes_content(kind, data):
        response_cache_bus.content_changed()  # before the realtime send: readers never get the old answer
    transaction.on_commit(lambda: _send(kind, data))
