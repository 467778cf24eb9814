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

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.sql import delete_some

from .models import Post, PostHashtag
from .signals import post_purging

MENTIONS_TABLE = Post.mentions.through._meta.db_table


def purge_post_batch(post_id: int, limit: int) -> int:
    """One batch of what hangs on the hidden post, in the caller's transaction; returns how many rows went
    (0: nothing left but the post row)."""
    deleted = sum(n or 0 for _, n in post_purging.send(sender=Post, post_id=post_id, limit=limit))
    if deleted:
        return deleted
    return (delete_some(PostHashtag._meta.db_table, "post_id = %s", [post_id], limit=limit)
            or delete_some(MENTIONS_TABLE, "post_id = %s", [post_id], limit=limit))


def delete_post_row(post_id: int) -> None:
    """The hidden post's row itself, once nothing hangs on it (in the caller's transaction)."""
    Post.all_objects.filter(pk=post_id, deleted_at__isnull=False).delete()


def purge_post_step(post_id: int, limit: int | None = None) -> int | None:
    """One batch in its own transaction. Returns how many rows went (the post row counts as 1, in the
    batch that finds nothing else left), None when there is no hidden post with this id (gone already,
    or never deleted: a visible post is never purged)."""
    limit = limit or settings.PURGE_BATCH
    with transaction.atomic():
        if not Post.all_objects.filter(pk=post_id, deleted_at__isnull=False).exists():
            return None
        deleted = purge_post_batch(post_id, limit)
        if deleted == 0:
            delete_post_row(post_id)
            return 1
    return deleted


def purge_post(post_id: int, *, limit: int | None = None, seconds: float | None = None) -> tuple[bool, int]:
    """Purges the hidden post batch after batch for at most ``seconds`` (PURGE_TASK_SECONDS). Returns
    (done, rows deleted); not done: the caller queues the rest (the task does)."""
    seconds = settings.PURGE_TASK_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    total = 0
    while True:
        step = purge_post_step(post_id, limit)
        if step is None:
            return True, total
        total += step
        if time.monotonic() >= deadline:
            return False, total


def purge_user_posts_batch(user_id: int, limit: int) -> int:
    """feed's part of one batch of a deleted user's purge (answering ``user_purging``): the user's mentions
    in posts that stay, then one batch of one of the user's (hidden) posts, or that post's row."""
    deleted = delete_some(MENTIONS_TABLE, "user_id = %s", [user_id], limit=limit)
    if deleted:
        return deleted
    post_id = (Post.all_objects.filter(author_id=user_id).order_by("pk").values_list("pk", flat=True).first())
    if post_id is None:
        return 0
    # A post the user wrote while the deletion committed is hidden now (the deletion hid the others).
    Post.all_objects.filter(pk=post_id, deleted_at__isnull=True).update(deleted_at=timezone.now())
    deleted = purge_post_batch(post_id, limit)
    if deleted == 0:
        Post.all_objects.filter(pk=post_id).delete()
        return 1
    return deleted


def hidden_posts(*, older_than_seconds: float, limit: int) -> list[int]:
    """Ids of hidden posts deleted more than ``older_than_seconds`` ago whose author is not deleted (those
    go with the author's purge): what the sweep queues again (post_hidden_idx)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(Post.all_objects.filter(deleted_at__lt=cutoff, author__deleted_at__isnull=True)
                .order_by("deleted_at").values_list("pk", flat=True)[:limit])
