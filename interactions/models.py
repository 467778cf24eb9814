from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from feed.models import Post, PostLinkedQuerySet

COMMENT_BODY_MAX = 1000
SHARE_COMMENT_MAX = 500


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)

    objects = PostLinkedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="like_unique_pair")]
        indexes = [
            # Post.likes: most recent first.
            models.Index(F("post"), F("created_at").desc(), F("id").desc(), name="like_post_idx"),
        ]


class Comment(models.Model):
    """A reply to a post (parent null) or to another comment on the same post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    reply_count = models.PositiveIntegerField(default=0)

    objects = PostLinkedQuerySet.as_manager()

    class Meta:
        indexes = [
            # Post.comments: top-level, oldest first.
            models.Index(
                F("post"), F("created_at"), F("id"), condition=Q(parent__isnull=True), name="comment_top_idx"
            ),
            # Comment.replies: oldest first.
            models.Index(F("parent"), F("created_at"), F("id"), name="comment_replies_idx"),
        ]


class Share(models.Model):
    """A user passing a post on to their followers, with an optional comment."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="shares")
    comment = models.CharField(max_length=SHARE_COMMENT_MAX, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    objects = PostLinkedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="share_unique_pair")]
        indexes = [
            # Post.shares: most recent first.
            models.Index(F("post"), F("created_at").desc(), F("id").desc(), name="share_post_idx"),
            # The home feed: shares by followed users, newest first.
            models.Index(F("user"), F("created_at").desc(), F("id").desc(), name="share_user_idx"),
            # The home feed of a viewer following many accounts: newest shares of everyone, walked down to the
            # page's floor (timeline/selectors.py).
            models.Index(F("created_at").desc(), F("id").desc(), name="share_created_idx"),
        ]


class Bookmark(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="bookmarks")
    created_at = models.DateTimeField(default=timezone.now)

    objects = PostLinkedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="bookmark_unique_pair")]
        indexes = [
            # Query.bookmarks: most recently bookmarked first.
            models.Index(F("user"), F("created_at").desc(), F("id").desc(), name="bookmark_user_idx"),
        ]
