"""Likes, shares and bookmarks: one (user, post) row each, doing it twice changes nothing.

Lock order: the like/share row first, then (last, for the shortest hold on a hot post) the post
row for its counter. Likes and shares notify the post's author (``like_created`` / ``share_created``,
answered by notifications in the transaction) and are counted by analytics (``interaction_counted``).
"""

from __future__ import annotations

from django.db import connection

from common.events import publish
from common.validation import clean_text
from users.models import User

from ..models import SHARE_COMMENT_MAX, Bookmark, Like, Share
from ..signals import interaction_counted, like_created, share_created
from ._rows import (BOOKMARK_TABLE, LIKE_TABLE, SHARE_TABLE, atomic_or_not_found, bump_post, insert_pair,
                    require_post)


# --- likes ----------------------------------------------------------------------
def like_create(*, user: User, post_id: int) -> tuple[Like | None, bool]:
    """Likes a post. Returns (like, created); liking again changes nothing."""

    def run():
        author_id, like_id, created_at = insert_pair(LIKE_TABLE, user.pk, post_id)
        if like_id is None:
            return Like.objects.filter(user=user, post_id=post_id).first(), False
        like_created.send(Like, like_id=like_id, user_id=user.pk, post_id=post_id, post_author_id=author_id)
        bump_post(post_id, "like_count", +1, relaxed=True)  # last: the hot row is locked for the shortest time
        interaction_counted.send(Like, post_id=post_id, post_author_id=author_id, kind="likes", delta=+1, at=None)
        publish("post_updated", post_id=post_id)
        return Like(pk=like_id, user=user, post_id=post_id, created_at=created_at), True

    return atomic_or_not_found(run)


def _delete_pair(table: str, *, user: User, post_id: int, counter: str, kind: str) -> bool:
    """Deletes the user's like/share of a post and takes it off the counter and the hour it was counted in."""

    def run():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s AND post_id = %s RETURNING created_at",
                           [user.pk, post_id])
            deleted = cursor.fetchone()
        if deleted is None:
            require_post(post_id)
            return False
        author_id = bump_post(post_id, counter, -1, relaxed=True)
        interaction_counted.send(Like if kind == "likes" else Share, post_id=post_id, post_author_id=author_id,
                                 kind=kind, delta=-1, at=deleted[0])
        publish("post_updated", post_id=post_id)
        return True

    return atomic_or_not_found(run)


def like_delete(*, user: User, post_id: int) -> bool:
    """Takes a like back. Returns whether one was removed; unliking again changes nothing."""
    return _delete_pair(LIKE_TABLE, user=user, post_id=post_id, counter="like_count", kind="likes")


# --- shares ---------------------------------------------------------------------
def _clean_share_comment(comment: str | None) -> str:
    return clean_text(comment, field="comment", max_length=SHARE_COMMENT_MAX, label="A share's comment")


def share_create(*, user: User, post_id: int, comment: str | None = None) -> tuple[Share | None, bool]:
    """Shares a post to the user's followers. Returns (share, created); sharing again changes nothing
    (the first share and its comment stay)."""
    comment = _clean_share_comment(comment)

    def run():
        author_id, share_id, created_at = insert_pair(SHARE_TABLE, user.pk, post_id, {"comment": comment})
        if share_id is None:
            return Share.objects.filter(user=user, post_id=post_id).first(), False
        share_created.send(Share, share_id=share_id, user_id=user.pk, post_id=post_id, post_author_id=author_id)
        bump_post(post_id, "share_count", +1, relaxed=True)
        interaction_counted.send(Share, post_id=post_id, post_author_id=author_id, kind="shares", delta=+1, at=None)
        publish("share_created", share_id=share_id, post_id=post_id, user_id=user.pk)
        publish("post_updated", post_id=post_id)
        return Share(pk=share_id, user=user, post_id=post_id, comment=comment, created_at=created_at), True

    return atomic_or_not_found(run)


def share_delete(*, user: User, post_id: int) -> bool:
    """Takes a share back. Returns whether one was removed; unsharing again changes nothing."""
    return _delete_pair(SHARE_TABLE, user=user, post_id=post_id, counter="share_count", kind="shares")


# --- bookmarks ------------------------------------------------------------------
def bookmark_create(*, user: User, post_id: int) -> tuple[Bookmark | None, bool]:
    """Bookmarks a post (private: no counter, no notification). Returns (bookmark, created)."""

    def run():
        _, bookmark_id, created_at = insert_pair(BOOKMARK_TABLE, user.pk, post_id)
        if bookmark_id is None:
            return Bookmark.objects.filter(user=user, post_id=post_id).first(), False
        return Bookmark(pk=bookmark_id, user=user, post_id=post_id, created_at=created_at), True

    return atomic_or_not_found(run)


def bookmark_delete(*, user: User, post_id: int) -> bool:
    """Removes a bookmark. Returns whether one was removed; doing it again changes nothing."""
    deleted, _ = Bookmark.objects.filter(user=user, post_id=post_id).delete()
    if not deleted:
        require_post(post_id)
    return bool(deleted)
