"""Writes for notifications: create them (notify, called by the receivers) and mark them read."""

from __future__ import annotations

from typing import Iterable

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from common.events import publish
from common.sql import delete_some
from users.models import User

from .models import Notification

NOTIFICATION_TABLE = Notification._meta.db_table

# notificationsMarkRead(ids:) takes at most this many ids at once.
MARK_READ_MAX_IDS = 100


def notify(kind: str, *, actor_id: int, recipient_ids: Iterable[int], post_id: int | None = None,
           comment_id: int | None = None, once_per_target: bool = False) -> list[int]:
    """Creates notifications of ``kind`` by ``actor_id``; returns the ids created.

    Never for one's own actions. LIKE, SHARE and FOLLOW are created at most once per
    (recipient, actor, post) by the ``notification_once`` constraint (ON CONFLICT DO
    NOTHING), so like, unlike, like again notifies once. ``once_per_target`` skips
    recipients who already have a notification of this kind for this post/comment
    (mentions re-added by an edit). Call inside the writer's transaction: the
    ``notification_created`` events are sent after commit.
    """
    recipients = [r for r in dict.fromkeys(recipient_ids) if r and r != actor_id]
    if not recipients:
        return []
    sql = (
        f"INSERT INTO {NOTIFICATION_TABLE} (recipient_id, kind, actor_id, post_id, comment_id, created_at) "
        "SELECT r, %s, %s, %s, %s, now() FROM unnest(%s::bigint[]) AS r "
    )
    params: list = [kind, actor_id, post_id, comment_id, recipients]
    if once_per_target:
        sql += (
            f"WHERE NOT EXISTS (SELECT 1 FROM {NOTIFICATION_TABLE} n WHERE n.recipient_id = r AND n.kind = %s "
            "AND n.post_id IS NOT DISTINCT FROM %s AND n.comment_id IS NOT DISTINCT FROM %s) "
        )
        params += [kind, post_id, comment_id]
    sql += "ON CONFLICT DO NOTHING RETURNING id, recipient_id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created = cursor.fetchall()
    for notification_id, recipient_id in created:
        publish("notification_created", notification_id=notification_id, recipient_id=recipient_id)
    return [row[0] for row in created]


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None, all: bool = False) -> int:  # noqa: A002
    """Marks the given notifications of ``user`` (others' ids are ignored), or all, read. Returns the unread count."""
    if not all and ids is None:
        raise ValidationError({"ids": ValidationError("Give the ids to mark, or set `all`.", code="required")})
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if all:
        unread.update(read_at=timezone.now())
    else:
        ids = list(dict.fromkeys(ids or ()))
        if len(ids) > MARK_READ_MAX_IDS:
            raise ValidationError({"ids": ValidationError(f"At most {MARK_READ_MAX_IDS} ids at once.",
                                                          code="invalid")})
        if ids:
            unread.filter(pk__in=ids).update(read_at=timezone.now())
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_purge_batch(*, post_ids: list[int] | None = None, user_id: int | None = None,
                              limit: int) -> int:
    """Up to ``limit`` notifications about deleted posts (``post_ids``), or to or by a deleted user
    (``user_id``), deleted; returns how many (0: none left). One batch of a purge, in its transaction."""
    if post_ids is not None:
        return delete_some(NOTIFICATION_TABLE, "post_id = ANY(%s)", [post_ids], limit=limit)
    return (delete_some(NOTIFICATION_TABLE, "recipient_id = %s", [user_id], limit=limit)
            or delete_some(NOTIFICATION_TABLE, "actor_id = %s", [user_id], limit=limit))


def notifications_about_comments_delete(comments) -> None:
    """Deletes the notifications about these comments (a QuerySet), in one statement."""
    Notification.objects.filter(comment__in=comments.values("id")).delete()
