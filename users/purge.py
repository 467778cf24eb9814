"""Purging deleted users, off the request path (the task users.purge_user; users.services.user_delete hides).

A deleted user is hidden at once (``is_active=False``, ``deleted_at``; their follows gone with both
sides' counters, their posts hidden by feed on ``user_deleting``). The purge then deletes what is theirs
in batches, each batch its own short transaction: users' own leftovers first (a follow that raced the
deletion), then the apps above answer ``user_purging`` (feed: the user's posts, each purged as a deleted
post; interactions: likes, shares, bookmarks, comments with the replies beneath, off the counters of the
rows that stay; notifications), each deleting at most ``limit`` rows. When a batch finds nothing left,
the user row goes (through Django's collector: refresh tokens and the like go with it).

Idempotent and resumable, as feed/purge.py: a batch commits or not; a rerun continues from what is left.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common import response_cache_bus
from common.sql import run_batches

from .models import Follow, User
from .signals import user_purging

FOLLOW_TABLE = Follow._meta.db_table
USER_TABLE = User._meta.db_table


def delete_follows(user_id: int, *, limit: int | None = None) -> int:
    """Deletes the user's follows both ways (at most ``limit``; None: all, set-based), taking each off the
    follower's following_count and the followee's follower_count in the same transaction (the user rows
    locked in id order). Returns how many went."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {FOLLOW_TABLE} WHERE id IN (SELECT id FROM {FOLLOW_TABLE} "
            f"WHERE follower_id = %s UNION ALL SELECT id FROM {FOLLOW_TABLE} WHERE followee_id = %s "
            f"ORDER BY id LIMIT %s) RETURNING follower_id, followee_id", [user_id, user_id, limit])
        gone = cursor.fetchall()
        if not gone:
            return 0
        following = Counter(follower for follower, _ in gone)
        followers = Counter(followee for _, followee in gone)
        ids = sorted(set(following) | set(followers))
        cursor.execute(f"SELECT id FROM {USER_TABLE} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [ids])
        cursor.execute(
            f"UPDATE {USER_TABLE} u SET following_count = u.following_count - x.following, "
            f"follower_count = u.follower_count - x.followers "
            f"FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS x(id, following, followers) WHERE u.id = x.id",
            [ids, [following[i] for i in ids], [followers[i] for i in ids]])
    return len(gone)


def purge_user_step(user_id: int, limit: int | None = None) -> int | None:
    """One batch in its own transaction. Returns how many rows went (the user row counts as 1, in the batch
    that finds nothing else left), None when there is no deleted user with this id (gone already, or
    never deleted: an active account is never purged)."""
    limit = limit or settings.PURGE_BATCH
    with transaction.atomic():
        if not User.objects.filter(pk=user_id, deleted_at__isnull=False).exists():
            return None
        deleted = delete_follows(user_id, limit=limit)
        if not deleted:
            deleted = sum(n or 0 for _, n in user_purging.send(sender=User, user_id=user_id, limit=limit))
        if deleted == 0:
            User.objects.filter(pk=user_id, deleted_at__isnull=False).delete()
            deleted = 1
        response_cache_bus.content_changed()  # the user's comments (and their counts) are gone at this commit
    return deleted


def purge_user(user_id: int, *, limit: int | None = None, seconds: float | None = None) -> tuple[bool, int]:
    """Purges the deleted user batch after batch for at most ``seconds`` (PURGE_TASK_SECONDS). Returns
    (done, rows deleted); not done: the caller queues the rest (the task does)."""
    seconds = settings.PURGE_TASK_SECONDS if seconds is None else seconds
    return run_batches(lambda: purge_user_step(user_id, limit), seconds)


def deleted_users(*, older_than_seconds: float, limit: int) -> list[int]:
    """Ids of users deleted more than ``older_than_seconds`` ago and not yet purged (users_deleted_idx)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(User.objects.filter(deleted_at__lt=cutoff).order_by("deleted_at").values_list("pk", flat=True)[:limit])
