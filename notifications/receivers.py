"""Notifications for what happens in the apps below (connected in NotificationsConfig.ready).

Every receiver runs inside the sender's transaction: a notification exists exactly when what it
tells about was committed, and its ``notification_created`` event goes out after commit. A write that
notifies many people (more than ``NOTIFICATIONS_INLINE_FANOUT`` mentions) queues the task
notifications.fan_out after its commit instead (notifications/tasks.py).
"""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver

from feed.signals import post_mentions_changed, post_purging
from interactions.signals import (comment_created, comment_mentions_added, comments_deleting, like_created,
                                  share_created)
from users.signals import follow_created, user_purging

from .models import Notification
from .services import notifications_about_comments_delete, notifications_purge_batch, notify
from .tasks import queue_fan_out

Kind = Notification.Kind


@receiver(follow_created, dispatch_uid="notifications.notify_follow")
def notify_follow(sender, follow, **kwargs) -> None:
    """FOLLOW for the followee; once per follower even across unfollow/follow (notification_once)."""
    notify(Kind.FOLLOW, actor_id=follow.follower_id, recipient_ids=[follow.followee_id])


def notify_many(kind: str, *, actor_id: int, recipient_ids, post_id=None, comment_id=None) -> None:
    """``notify(..., once_per_target=True)`` in the write's transaction for a few recipients; for more than
    ``NOTIFICATIONS_INLINE_FANOUT`` the task notifications.fan_out does it after commit, off the request path."""
    recipients = [r for r in dict.fromkeys(recipient_ids) if r and r != actor_id]
    if len(recipients) > settings.NOTIFICATIONS_INLINE_FANOUT:
        queue_fan_out(kind, actor_id=actor_id, recipient_ids=recipients, post_id=post_id, comment_id=comment_id)
    else:
        notify(kind, actor_id=actor_id, recipient_ids=recipients, post_id=post_id, comment_id=comment_id,
               once_per_target=True)


@receiver(post_mentions_changed, dispatch_uid="notifications.notify_post_mentions")
def notify_post_mentions(sender, post, added_user_ids, **kwargs) -> None:
    """MENTION for users a new or edited post mentions (not the author; once per post and user)."""
    notify_many(Kind.MENTION, actor_id=post.author_id, recipient_ids=added_user_ids, post_id=post.pk)


@receiver(like_created, dispatch_uid="notifications.notify_like")
def notify_like(sender, user_id, post_id, post_author_id, **kwargs) -> None:
    """LIKE for the post's author; like, unlike, like again notifies once (notification_once)."""
    notify(Kind.LIKE, actor_id=user_id, recipient_ids=[post_author_id], post_id=post_id)


@receiver(share_created, dispatch_uid="notifications.notify_share")
def notify_share(sender, user_id, post_id, post_author_id, **kwargs) -> None:
    """SHARE for the post's author; once per sharer and post (notification_once)."""
    notify(Kind.SHARE, actor_id=user_id, recipient_ids=[post_author_id], post_id=post_id)


@receiver(comment_created, dispatch_uid="notifications.notify_comment")
def notify_comment(sender, comment, post_author_id, parent_author_id, mentioned_user_ids, **kwargs) -> None:
    """One notification per person, in this order of precedence, never the commenter: the parent's
    author (REPLY), the post's author (COMMENT), the users mentioned (MENTION)."""
    author_id = comment.author_id
    notified: set[int] = {author_id}
    if parent_author_id is not None and parent_author_id not in notified:
        notify(Kind.REPLY, actor_id=author_id, recipient_ids=[parent_author_id], post_id=comment.post_id,
               comment_id=comment.pk)
        notified.add(parent_author_id)
    if post_author_id not in notified:
        notify(Kind.COMMENT, actor_id=author_id, recipient_ids=[post_author_id], post_id=comment.post_id,
               comment_id=comment.pk)
        notified.add(post_author_id)
    notify_many(Kind.MENTION, actor_id=author_id, recipient_ids=[m for m in mentioned_user_ids if m not in notified],
                post_id=comment.post_id, comment_id=comment.pk)


@receiver(comment_mentions_added, dispatch_uid="notifications.notify_comment_mentions")
def notify_comment_mentions(sender, comment, added_user_ids, **kwargs) -> None:
    """MENTION for users an edited comment newly mentions (once per comment and user)."""
    notify_many(Kind.MENTION, actor_id=comment.author_id, recipient_ids=added_user_ids, post_id=comment.post_id,
                comment_id=comment.pk)


@receiver(comments_deleting, dispatch_uid="notifications.forget_deleted_comments")
def forget_deleted_comments(sender, comments, **kwargs) -> None:
    """Notifications about comments that are being deleted go with them."""
    notifications_about_comments_delete(comments)


@receiver(post_purging, dispatch_uid="notifications.purge_post")
def purge_post(sender, post_ids, limit, **kwargs) -> int:
    """One batch of the notifications about deleted posts; returns how many went."""
    return notifications_purge_batch(post_ids=post_ids, limit=limit)


@receiver(user_purging, dispatch_uid="notifications.purge_user")
def purge_user(sender, user_id, limit, **kwargs) -> int:
    """One batch of the notifications to or by a deleted user; returns how many went."""
    return notifications_purge_batch(user_id=user_id, limit=limit)
