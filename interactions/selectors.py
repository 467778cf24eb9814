"""Reads for interactions: a post's comments, likes and shares, a user's bookmarks, and the viewer's
flags on posts (querysets for the GraphQL layer to page through; keyset orderings noted).

Lists are read with a keyset seek on an index of the same order (interactions/models.py); the first
rows of many parents at once go through common.sql.first_per_parent (one LATERAL query).
"""

from __future__ import annotations

from functools import cache, partial
from typing import Iterable

from django.db import connection
from django.db.models import QuerySet

from common import prepared
from common.sql import first_per_parent
from users.models import User

from .models import Bookmark, Comment, Like, Share

COMMENT_ORDER = ("created_at", "id")  # oldest first
LIKE_ORDER = ("created_at", "id")  # newest first
SHARE_ORDER = ("created_at", "id")  # newest first
TOP_LEVEL = "x.parent_id IS NULL"


# --- a post's comments, likes and shares -----------------------------------------------------
def post_comments(post_id: int) -> QuerySet[Comment]:
    """Top-level comments of a post (page oldest first on the partial (post, created_at, id) index)."""
    return Comment.objects.filter(post_id=post_id, parent__isnull=True).select_related("author")


def comment_replies(comment_id: int) -> QuerySet[Comment]:
    """Direct replies to a comment (page oldest first on (parent, created_at, id))."""
    return Comment.objects.filter(parent_id=comment_id).select_related("author")


def post_likes(post_id: int) -> QuerySet[Like]:
    """Likes of a post (page newest first on (post, created_at, id))."""
    return Like.objects.filter(post_id=post_id).select_related("user")


def post_shares(post_id: int) -> QuerySet[Share]:
    """Shares of a post (page newest first on (post, created_at, id))."""
    return Share.objects.filter(post_id=post_id).select_related("user")


def _comments_with_authors(leave_out: tuple[str, ...] = ()) -> QuerySet[Comment]:
    return Comment.objects.select_related("author").defer(*leave_out)


def _likes_with_users() -> QuerySet[Like]:
    return Like.objects.select_related("user")


def _shares_with_users() -> QuerySet[Share]:
    return Share.objects.select_related("user")


# The first_* readers take ``reverse=True`` for the last rows of each list instead (last first).
def first_comments(post_ids: Iterable[int], limit: int, reverse: bool = False,
                   leave_out: tuple[str, ...] = ()) -> dict[int, list[Comment]]:
    """The first top-level comments of each post with their authors; ``leave_out``: columns (``author__...``
    for the author's) not read (deferred: a read loads them)."""
    return first_per_parent(partial(_comments_with_authors, leave_out), "post", post_ids, COMMENT_ORDER, limit,
                            where=TOP_LEVEL, reverse=reverse, shape=("comments+author", leave_out))


def first_replies(comment_ids: Iterable[int], limit: int, reverse: bool = False) -> dict[int, list[Comment]]:
    return first_per_parent(_comments_with_authors, "parent", comment_ids, COMMENT_ORDER, limit,
                            reverse=reverse, shape="comments+author")


def first_likes(post_ids: Iterable[int], limit: int, reverse: bool = False) -> dict[int, list[Like]]:
    return first_per_parent(_likes_with_users, "post", post_ids, LIKE_ORDER, limit,
                            descending=True, reverse=reverse, shape="likes+user")


def first_shares(post_ids: Iterable[int], limit: int, reverse: bool = False) -> dict[int, list[Share]]:
    return first_per_parent(_shares_with_users, "post", post_ids, SHARE_ORDER, limit,
                            descending=True, reverse=reverse, shape="shares+user")


# --- the viewer's flags on posts ---------------------------------------------------------------
VIEWER_FLAGS = {"liked": Like, "shared": Share, "bookmarked": Bookmark}


def viewer_post_flags(users: User | int | Iterable[int], post_ids: Iterable[int],
                      flags: Iterable[str] = tuple(VIEWER_FLAGS)) -> dict[str, set[tuple[int, int]]]:
    """Which (user, post) pairs are liked / shared / bookmarked, in ONE query.

    ``users``: a User, a user id or user ids (one viewer and a page of posts, or every subscriber of
    one post); ``flags``: some of "liked", "shared", "bookmarked". The answer maps each flag to the
    (user_id, post_id) pairs for which it is true. Each part is a probe of the (user, post) unique index.
    """
    if isinstance(users, User):
        user_ids = [users.pk]
    elif isinstance(users, int):
        user_ids = [users]
    else:
        user_ids = sorted(set(users))
    post_ids = sorted(set(post_ids))
    found: dict[str, set[tuple[int, int]]] = {flag: set() for flag in flags}
    if not user_ids or not post_ids or not found:
        return found
    names = tuple(found)
    params = []
    for flag in names:
        params += [flag, user_ids, post_ids]
    for flag, user_id, post_id in prepared.rows_of(_flags_sql(names), params, connection):
        found[flag].add((user_id, post_id))
    return found


@cache
def _flags_sql(flags: tuple[str, ...]) -> str:
    """viewer_post_flags' statement for these flags (one text each: its cursor is kept, common.prepared.rows_of)."""
    parts = []
    for flag in flags:
        table = connection.ops.quote_name(VIEWER_FLAGS[flag]._meta.db_table)
        parts.append(f"SELECT %s, user_id, post_id FROM {table} WHERE user_id = ANY(%s) AND post_id = ANY(%s)")
    return " UNION ALL ".join(parts)


def on_visible_posts(queryset: QuerySet) -> QuerySet:
    """Comments, likes or shares of posts not deleted (a deleted post's rows wait for the purge)."""
    return queryset.filter(post__deleted_at__isnull=True)


# --- a user's bookmarks -------------------------------------------------------------------------
def bookmarks_of(user: User) -> QuerySet[Bookmark]:
    """The user's bookmarks with the post and its author joined in; order by (created_at, id) descending
    (bookmark_user_idx): most recently bookmarked first."""
    return Bookmark.objects.filter(user=user, post__deleted_at__isnull=True).select_related("post", "post__author")
