"""analytics answering the interactions and feed signals (connected in AnalyticsConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver

from feed.signals import post_purging
from interactions.signals import interaction_counted

from .writes import record_interaction, stats_purge_batch


@receiver(interaction_counted, dispatch_uid="analytics.count_interaction")
def count_interaction(sender, post_id, post_author_id, kind, delta, at=None, **kwargs) -> None:
    """Counts a like/comment/share (or its undo) in the post's hourly stats, after the sender's transaction
    commits (record_interaction defers to transaction.on_commit: a rollback counts nothing)."""
    record_interaction(post_id=post_id, author_id=post_author_id, kind=kind, delta=delta, at=at)


@receiver(post_purging, dispatch_uid="analytics.purge_post_stats")
def purge_post_stats(sender, post_ids, limit, **kwargs) -> int:
    """One batch of deleted posts' stat rows; returns how many went."""
    return stats_purge_batch(post_ids, limit)
