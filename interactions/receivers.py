"""Notifications for what other apps do, via their signals (connected in InteractionsConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver

from feed.signals import post_mentions_changed
from users.signals import follow_created

from .models import Notification
from .services import notify


@receiver(follow_created, dispatch_uid="interactions.notify_follow")
def notify_follow(sender, follow, **kwargs) -> None:
    """FOLLOW for the followee; once per follower even across unfollow/follow (notification_once)."""
    notify(Notification.Kind.FOLLOW, actor_id=follow.follower_id, recipient_ids=[follow.followee_id])


@receiver(post_mentions_changed, dispatch_uid="interactions.notify_post_mentions")
def notify_post_mentions(sender, post, added_user_ids, **kwargs) -> None:
    """MENTION for users a new or edited post mentions (not the author; once per post and user)."""
    notify(Notification.Kind.MENTION, actor_id=post.author_id, recipient_ids=added_user_ids, post_id=post.pk,
           once_per_target=True)
