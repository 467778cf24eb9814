"""Purging deleted posts, off the request path (the task feed.purge_post; feed.services.post_delete hides).

A deleted post is hidden at once (``Post.deleted_at``: ``Post.objects`` leaves it out). The purge then
deletes what hangs on it in batches, each batch its own short transaction: the apps above answer
``post_purging`` (interactions: likes, shares, bookmarks, comments; notifications; analytics: stats),
each deleting at most ``limit`` rows and fixing the counters that counted them in the same transaction,
then feed deletes its own rows (hashtags, mentions). When a batch finds nothing left, the post row goes
(through Django's collector: anything an app forgot would go with it, not fail the delete).

Idempotent and resumable: a batch commits or not; a rerun (a retried or duplicated message, a crashed
worker's message delivered again) continues from what is left, and does nothing for a post already gone.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.sql import delete_some, run_batches

from .models import Post, PostHashtag
from .signals import post_purging

MENTIONS_TABLE = Post.mentions.through._meta.db_table


def purge_posts_batch(post_ids: list[int], limit: int) -> int:
    """One batch of what hangs on these hidden posts, in the caller's transaction; returns how many rows went.
    When nothing is left, the post rows themselves go (counted), through Django's collector."""
    deleted = sum(n or 0 for _, n in post_purging.send(sender=Post, post_ids=post_ids, limit=limit))
    if not deleted:
        deleted = (delete_some(PostHashtag._meta.db_table, "post_id = ANY(%s)", [post_ids], limit=limit)
                   or delete_some(MENTIONS_TABLE, "post_id = ANY(%s)", [post_ids], limit=limit))
    if not deleted:
        deleted, _ = Post.all_objects.filter(pk__in=post_ids, deleted_at__isnull=False).delete()
    return deleted


def purge_post_step(post_id: int, limit: int | None = None) -> int | None:
    """One batch in its own transaction. Returns how many rows went (the post row included, in the batch
    that finds nothing else left), None when there is no hidden post with this id (gone already, or never
    deleted: a visible post is never purged)."""
    limit = limit or settings.PURGE_BATCH
    with transaction.atomic():
        if not Post.all_objects.filter(pk=post_id, deleted_at__isnull=False).exists():
            return None
        return purge_posts_batch([post_id], limit)


def purge_post(post_id: int, *, limit: int | None = None, seconds: float | None = None) -> tuple[bool, int]:
    """Purges the hidden post batch after batch for at most ``seconds`` (PURGE_TASK_SECONDS). Returns
    (done, rows deleted); not done: the caller queues the rest (the task does)."""
    seconds = settings.PURGE_TASK_SECONDS if seconds is None else seconds
    return run_batches(lambda: purge_post_step(post_id, limit), seconds)


def purge_user_posts_batch(user_id: int, limit: int) -> int:
    """feed's part of one batch of a deleted user's purge (answering ``user_purging``): the user's mentions
    in posts that stay, then one batch of up to ``limit`` of the user's (hidden) posts at once."""
    deleted = delete_some(MENTIONS_TABLE, "user_id = %s", [user_id], limit=limit)
    if deleted:
        return deleted
    # No ORDER BY: any of them, read from post_author_created_idx (an id order would walk the primary key).
    post_ids = list(Post.all_objects.filter(author_id=user_id).values_list("pk", flat=True)[:limit])
    if not post_ids:
        return 0
    # A post the user wrote while the deletion committed is hidden now (the deletion hid the others).
    Post.all_objects.filter(pk__in=post_ids, deleted_at__isnull=True).update(deleted_at=timezone.now())
    return purge_posts_batch(post_ids, limit)


def hidden_posts(*, older_than_seconds: float, limit: int) -> list[int]:
    """Ids of hidden posts deleted more than ``older_than_seconds`` ago whose author is not deleted (those
    go with the author's purge): what the sweep queues again (post_hidden_idx)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(Post.all_objects.filter(deleted_at__lt=cutoff, author__deleted_at__isnull=True)
                .order_by("deleted_at").values_list("pk", flat=True)[:limit])
