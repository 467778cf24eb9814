"""interactions' answers to the signals of the apps below it (connected in InteractionsConfig.ready):
each app purges its own rows and fixes its own counters when a deleted post or user is purged."""

from __future__ import annotations

from django.dispatch import receiver

from feed.signals import post_purging
from users.signals import user_purging

from . import services


@receiver(post_purging, dispatch_uid="interactions.purge_post")
def purge_post(sender, post_ids, limit, **kwargs) -> int:
    """One batch of deleted posts' likes, shares, bookmarks or comments (the posts' own counters follow
    in the same transaction); returns how many went."""
    return services.purge_post_batch(post_ids, limit)


@receiver(user_purging, dispatch_uid="interactions.purge_user")
def purge_user(sender, user_id, limit, **kwargs) -> int:
    """One batch of the deleted user's likes, shares, bookmarks or comments (with the replies beneath),
    taken off the counters of the posts and comments that stay; returns how many went."""
    return services.purge_user_batch(user_id, limit)
