"""What interactions does when a post or a user goes (answers to feed's ``post_deleting`` and users'
``user_deleting``, connected in interactions/receivers.py): its own rows and its own counters."""

from __future__ import annotations

from django.db import connection
from django.db.models import F

from feed.models import Post

from ..models import Like, Share
from ._rows import COMMENT_TABLE, POST_TABLE
from .comments import delete_comments


def post_comments_delete(post_id: int) -> None:
    """Before a post goes: its comments, set-based (the post's cascade would load them one by one).
    Their counters (the post's comment_count, the comments' reply_count) go with the post."""
    delete_comments(post_id=post_id)


def user_interactions_uncount(user_id: int) -> None:
    """Before a user's cascade: takes their likes, shares and comments off the counters on rows that stay.

    The cascade removes the user's likes, shares and comments with every reply beneath them (whoever
    wrote those); the posts that stay (others' posts) lose that many likes, shares and comments, the
    comments that stay (others' comments the user replied to) their gone replies. Set-based, in the
    delete's transaction (the user's own posts go with everything on them).
    """
    for model, counter in ((Like, "like_count"), (Share, "share_count")):
        # At most one like / share per (user, post): each post loses one.
        Post.objects.filter(pk__in=model.objects.filter(user_id=user_id).values("post_id")).exclude(
            author_id=user_id).update(**{counter: F(counter) - 1})
    with connection.cursor() as cursor:
        # The user's comments and every reply beneath them (the cascade takes them all), on posts that
        # stay: their posts lose that many comments, surviving parents their gone replies.
        cursor.execute(
            f"CREATE TEMPORARY TABLE user_delete_gone ON COMMIT DROP AS "
            f"WITH RECURSIVE gone AS (SELECT c.id, c.post_id, c.parent_id FROM {COMMENT_TABLE} c "
            f"JOIN {POST_TABLE} p ON p.id = c.post_id WHERE c.author_id = %s AND p.author_id <> %s "
            f"UNION SELECT r.id, r.post_id, r.parent_id FROM {COMMENT_TABLE} r JOIN gone g ON r.parent_id = g.id) "
            f"SELECT DISTINCT id, post_id, parent_id FROM gone", [user_id, user_id])
        cursor.execute(
            f"UPDATE {POST_TABLE} p SET comment_count = p.comment_count - x.n FROM (SELECT post_id, count(*) AS n "
            f"FROM user_delete_gone GROUP BY post_id) x WHERE p.id = x.post_id")
        cursor.execute(
            f"UPDATE {COMMENT_TABLE} c SET reply_count = c.reply_count - x.n FROM (SELECT parent_id, count(*) AS n "
            f"FROM user_delete_gone g WHERE g.parent_id IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM user_delete_gone p WHERE p.id = g.parent_id) GROUP BY parent_id) x "
            f"WHERE c.id = x.parent_id")
        cursor.execute("DROP TABLE user_delete_gone")
