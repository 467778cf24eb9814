"""feed's answers to the signals of users (connected in FeedConfig.ready): a deleted user's posts."""

from __future__ import annotations

from django.dispatch import receiver

from users.signals import user_deleting, user_purging

from . import purge, services


@receiver(user_deleting, dispatch_uid="feed.hide_user_posts")
def hide_user_posts(sender, user_id, **kwargs) -> None:
    """The deleted user's posts hidden at once, in the deletion's transaction (one UPDATE)."""
    services.posts_hide_of_author(user_id)


@receiver(user_purging, dispatch_uid="feed.purge_user_posts")
def purge_user_posts(sender, user_id, limit, **kwargs) -> int:
    """One batch of the deleted user's posts (each purged as a deleted post) and mentions; how many went."""
    return purge.purge_user_posts_batch(user_id, limit)
