"""Reads for notifications (querysets for the GraphQL layer to page through; keyset orderings noted)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from users.models import User

from .models import Notification


def notifications_of(recipient: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The recipient's notifications with actor, post (and its author) and comment joined in.

    Order by (created_at, id) descending: served by notification_recipient_idx, or
    notification_unread_idx with ``unread_only``.
    """
    notifications = (
        Notification.objects.filter(recipient=recipient)
        # About a deleted post, or by a deleted user: hidden at once, deleted by the purge.
        .filter(Q(post__isnull=True) | Q(post__deleted_at__isnull=True), actor__deleted_at__isnull=True)
        .select_related("actor", "post", "post__author", "comment")
    )
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


def unread_notification_count(recipient: User) -> int:
    """How many of the recipient's notifications are unread (an index-only count on the partial index)."""
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).count()
