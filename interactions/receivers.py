"""interactions' answers to the signals of the apps below it (connected in InteractionsConfig.ready):
each app fixes its own rows and counters when a post or a user goes."""

from __future__ import annotations

from django.dispatch import receiver

from feed.signals import post_deleting
from users.signals import user_deleting

from . import services


@receiver(post_deleting, dispatch_uid="interactions.delete_post_comments")
def delete_post_comments(sender, post, **kwargs) -> None:
    """The post's comments, set-based, before the post's cascade (which would load them one by one)."""
    services.post_comments_delete(post.pk)


@receiver(user_deleting, dispatch_uid="interactions.uncount_deleted_user")
def uncount_deleted_user(sender, user, **kwargs) -> None:
    """The user's likes, shares and comments taken off the counters of the posts and comments that stay."""
    services.user_interactions_uncount(user.pk)
