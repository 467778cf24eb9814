"""Domain events for realtime delivery, sent only after the transaction commits.

Services call :func:`publish` inside their transaction; nothing is sent if it
rolls back. Delivery goes through the Channels layer (channels-redis), so
subscribers on every server process receive it. The websocket layer
(schema/realtime) decides which subscribers get what.

Event kinds and their data (ids only; subscribers load what their selection needs):
- ``post_created``: post_id, author_id, hashtags
- ``post_updated``: post_id  (edits and counter changes; coalesced for subscribers)
- ``post_deleted``: post_id, author_id
- ``comment_added``: comment_id, post_id
- ``share_created``: share_id, post_id, user_id
- ``notification_created``: notification_id, recipient_id
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from django.db import transaction

logger = logging.getLogger(__name__)

EVENTS_GROUP = "events"


def _send(kind: str, data: dict) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(EVENTS_GROUP, {"type": "domain.event", "kind": kind, "data": data})
    except Exception:  # noqa: BLE001 - a lost realtime message must never fail the write
        logger.exception("could not publish %s event", kind)


def publish(kind: str, **data) -> None:
    """Sends the event once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: _send(kind, data))
