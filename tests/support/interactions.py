"""Helpers shared by the interactions tests: posts, counters recomputed with COUNT(*), notifications."""

from __future__ import annotations

from django.db import connection
from django.db.models import F
from graphql_relay import to_global_id

from feed.models import Post
from notifications.models import Notification
from users.models import User


def make_post(author, body: str = "Hello world") -> Post:
    """A post written straight to the table (the posts service is not what these tests are about),
    with the author's post_count kept exact."""
    post = Post.objects.create(author=author, body=body)
    User.objects.filter(pk=author.pk).update(post_count=F("post_count") + 1)
    return post


def gid(type_name: str, pk) -> str:
    return to_global_id(type_name, pk)


def counter_mismatches() -> list[str]:
    """Every denormalized counter that differs from the rows it counts (empty when all are exact). Rows of
    deleted posts and users count until they are purged, as they do for the counters (post_count: the
    author's posts not deleted)."""
    checks = {
        "post.like_count": "SELECT p.id, p.like_count, (SELECT count(*) FROM interactions_like l WHERE l.post_id = p.id) "
                           "FROM feed_post p",
        "post.share_count": "SELECT p.id, p.share_count, (SELECT count(*) FROM interactions_share s "
                            "WHERE s.post_id = p.id) FROM feed_post p",
        "post.comment_count": "SELECT p.id, p.comment_count, (SELECT count(*) FROM interactions_comment c "
                              "WHERE c.post_id = p.id) FROM feed_post p",
        "comment.reply_count": "SELECT c.id, c.reply_count, (SELECT count(*) FROM interactions_comment r "
                               "WHERE r.parent_id = c.id) FROM interactions_comment c",
        "user.follower_count": "SELECT u.id, u.follower_count, (SELECT count(*) FROM users_follow f "
                               "WHERE f.followee_id = u.id) FROM users_user u",
        "user.following_count": "SELECT u.id, u.following_count, (SELECT count(*) FROM users_follow f "
                                "WHERE f.follower_id = u.id) FROM users_user u",
        # A deleted post leaves its author's post_count at once; its row waits for the purge.
        "user.post_count": "SELECT u.id, u.post_count, (SELECT count(*) FROM feed_post p "
                           "WHERE p.author_id = u.id AND p.deleted_at IS NULL) FROM users_user u",
    }
    problems = []
    with connection.cursor() as cursor:
        for name, sql in checks.items():
            cursor.execute(f"SELECT * FROM ({sql}) AS t(id, stored, actual) WHERE stored <> actual")
            problems += [f"{name} of {row[0]}: stored {row[1]}, actual {row[2]}" for row in cursor.fetchall()]
    return problems


def kinds_for(user) -> list[tuple[str, str]]:
    """(kind, actor username) of the user's notifications, oldest first."""
    return [(n.kind, n.actor.username)
            for n in Notification.objects.filter(recipient=user).select_related("actor").order_by("created_at", "id")]
