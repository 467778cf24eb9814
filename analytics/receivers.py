"""analytics answering the interactions signals (connected in AnalyticsConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver

from interactions.signals import interaction_counted

from .writes import record_interaction


@receiver(interaction_counted, dispatch_uid="analytics.count_interaction")
def count_interaction(sender, post_id, post_author_id, kind, delta, at=None, **kwargs) -> None:
    """Counts a like/comment/share (or its undo) in the post's hourly stats, after the sender's transaction
    commits (record_interaction defers to transaction.on_commit: a rollback counts nothing)."""
    record_interaction(post_id=post_id, author_id=post_author_id, kind=kind, delta=delta, at=at)
