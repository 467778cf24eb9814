"""Reads for interactions: querysets for the GraphQL layer to page through (keyset orderings noted)."""

from __future__ import annotations

from django.db.models import QuerySet

from users.models import User

from .models import Bookmark, Comment, Notification


def notifications_of(recipient: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The recipient's notifications with actor, post (and its author) and comment joined in.

    Order by (created_at, id) descending: served by notification_recipient_idx, or
    notification_unread_idx with ``unread_only``.
    """
    notifications = (
        Notification.objects.filter(recipient=recipient)
        .select_related("actor", "post", "post__author", "comment")
        .defer("post__search_vector")
    )
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


def unread_notification_count(recipient: User) -> int:
    """How many of the recipient's notifications are unread (an index-only count on the partial index)."""
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).count()


def bookmarks_of(user: User) -> QuerySet[Bookmark]:
    """The user's bookmarks with the post and its author joined in; order by (created_at, id) descending
    (bookmark_user_idx): most recently bookmarked first."""
    return Bookmark.objects.filter(user=user).select_related("post", "post__author").defer("post__search_vector")


def top_level_comments_of(post_id: int) -> QuerySet[Comment]:
    """Top-level comments of a post; order by (created_at, id) ascending (comment_top_idx)."""
    return Comment.objects.filter(post_id=post_id, parent__isnull=True).select_related("author")


def replies_of(comment_id: int) -> QuerySet[Comment]:
    """Direct replies to a comment; order by (created_at, id) ascending (comment_replies_idx)."""
    return Comment.objects.filter(parent_id=comment_id).select_related("author")
