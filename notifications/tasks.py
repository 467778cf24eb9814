"""Notifications' background work.

- :func:`fan_out` — notifications to many recipients (a post or comment mentioning more than
  ``NOTIFICATIONS_INLINE_FANOUT`` users) are created here, off the request path, in chunks of
  :data:`CHUNK` recipients (one transaction each). Idempotent: ``notify(..., once_per_target=True)`` skips
  recipients who already have it, so a retried or replayed message notifies nobody twice; a post or
  comment deleted in the meantime notifies nobody.
- :func:`purge_read_notifications` — housekeeping (beat): read notifications older than
  ``NOTIFICATIONS_READ_RETENTION_DAYS`` are deleted in batches; unread ones are kept.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.sql import delete_in_batches
from common.tasks import task

logger = logging.getLogger(__name__)

CHUNK = 500


def queue_fan_out(kind: str, *, actor_id: int, recipient_ids, post_id=None, comment_id=None) -> None:
    """After the current transaction commits, queues :func:`fan_out` (in chunks); called by the receivers."""
    recipients = list(dict.fromkeys(recipient_ids))

    def send():
        for start in range(0, len(recipients), CHUNK):
            fan_out.delay(kind, actor_id, recipients[start:start + CHUNK], post_id, comment_id)

    transaction.on_commit(send)


@task(name="notifications.fan_out", soft_time_limit=60, time_limit=90)
def fan_out(kind: str, actor_id: int, recipient_ids: list[int], post_id: int | None = None,
            comment_id: int | None = None) -> int:
    from feed.models import Post
    from interactions.models import Comment

    from .services import notify

    with transaction.atomic():
        # The target may have been deleted since: then nobody is notified (and no foreign key fails).
        if post_id is not None and not Post.objects.filter(pk=post_id).select_for_update().exists():
            return 0
        if comment_id is not None and not Comment.objects.filter(pk=comment_id).select_for_update().exists():
            return 0
        created = notify(kind, actor_id=actor_id, recipient_ids=recipient_ids, post_id=post_id,
                         comment_id=comment_id, once_per_target=True)
    return len(created)


def purge_read_notifications_now(*, batch: int | None = None, now=None) -> int:
    from .models import Notification

    batch = batch or settings.HOUSEKEEPING_BATCH
    cutoff = (now or timezone.now()) - timedelta(days=settings.NOTIFICATIONS_READ_RETENTION_DAYS)
    table = Notification._meta.db_table
    return delete_in_batches(table, "read_at IS NOT NULL AND read_at < %s", [cutoff], batch=batch)


@task(name="notifications.purge_read_notifications", soft_time_limit=300, time_limit=330)
def purge_read_notifications() -> int:
    deleted = purge_read_notifications_now()
    logger.info("housekeeping: %s read notifications older than %s days deleted", deleted,
                settings.NOTIFICATIONS_READ_RETENTION_DAYS, extra={"deleted": deleted})
    return deleted
