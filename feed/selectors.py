"""Reads for posts: one post, the post lists (Query.posts, User.posts) and the users a post mentions.

Every list here is read with a keyset seek on an index of the same order (see
the indexes in feed/models.py); the GraphQL layer pages with ``schema.core.connection``.
Nothing here counts rows or uses OFFSET. A post's likes, comments and shares are read in
interactions/selectors.py, the home feed in timeline/selectors.py.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Callable, Iterable

from django.contrib.postgres.search import SearchQuery
from django.db.models import QuerySet

from common import prepared
from common.sql import first_per_parent
from common.validation import clean_search
from users.models import User

from .models import Post, PostHashtag

# Query.posts orderings: the sort fields, ending with the unique id. Each has an index of the same
# order on feed_post (scanned backwards for ASC).
POST_ORDERINGS: dict[str, tuple[str, str]] = {
    "CREATED_AT": ("created_at", "id"),
    "LIKE_COUNT": ("like_count", "id"),
    "COMMENT_COUNT": ("comment_count", "id"),
    "SHARE_COUNT": ("share_count", "id"),
}

# A hashtag on at most this many posts, ordered by a counter, is sorted rather than walked (see post_list).
RARE_TAG_POSTS = 10_000

# Raw SQL on feed_post (alias x) leaves deleted posts out with this, as Post.objects does.
VISIBLE = "x.deleted_at IS NULL"

# User.posts: newest first.
POST_NEWEST_ORDER = ("created_at", "id")


def posts() -> QuerySet[Post]:
    """All posts (Post.objects: without the columns no response needs, see feed.models.POST_DEFERRED)."""
    return Post.objects.all()


def post_get(post_id: int) -> Post | None:
    """The post (not deleted) with its author; the SQL is compiled once (a mutation's payload reads it)."""
    found = prepared.fetch("post_get", lambda pk: posts().select_related("author").filter(
        prepared.condition('"feed_post"."id" = %s', [pk]))[:1], int(post_id))
    return found[0] if found else None


@dataclass
class PostListing:
    """A queryset to page through in (fields..., descending) order, and how to get a Post from a row.

    ``queryset`` is built on first use (``build``): a page whose SQL is already compiled (common.prepared)
    never builds it."""

    build: Callable[[], QuerySet]
    model: type
    fields: tuple[str, ...]
    descending: bool
    node_of: Callable[[Any], Post] = field(default=lambda row: row)

    @cached_property
    def queryset(self) -> QuerySet:
        return self.build()


def normalize_hashtag(value: str | None) -> str:
    return (value or "").strip().lstrip("#").lower()


def post_list(
    *,
    author_id: int | None = None,
    author_username: str | None = None,
    hashtag: str | None = None,
    search: str | None = None,
    created_after: datetime.datetime | None = None,
    created_before: datetime.datetime | None = None,
    order: str = "CREATED_AT",
    descending: bool = True,
    with_author: bool = False,
    leave_out: tuple[str, ...] = (),
) -> PostListing:
    """Posts filtered and ordered for Query.posts.

    A hashtag filter in creation order seeks the PostHashtag index (tag, created_at, post) and
    joins the post in: a rare tag costs what a common one does. ``leave_out``: columns (``author__...``
    for the author's) not read (deferred: a read loads them).
    """
    search = clean_search(search)
    tag = normalize_hashtag(hashtag) if hashtag is not None else None
    options = dict(author_id=author_id, author_username=author_username, search=search,
                   created_after=created_after, created_before=created_before, with_author=with_author)
    if tag is not None and order == "CREATED_AT":
        return PostListing(partial(_hashtag_rows, tag, **options), PostHashtag, ("created_at", "post_id"), descending,
                           node_of=lambda row: row.post)
    return PostListing(partial(_posts, tag, leave_out=leave_out, **options), Post, POST_ORDERINGS[order], descending)


def _filters(author_id, author_username, created_after, created_before) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if author_id is not None:
        filters["author_id"] = author_id
    if author_username is not None:
        filters["author__in"] = User.objects.filter(
            username__iexact=author_username.strip().lstrip("@")
        ).values("id")
    if created_after is not None:
        filters["created_at__gte"] = created_after
    if created_before is not None:
        filters["created_at__lt"] = created_before
    return filters


def _hashtag_rows(tag, *, author_id, author_username, search, created_after, created_before,
                  with_author) -> QuerySet[PostHashtag]:
    """A hashtag filter in creation order: the PostHashtag rows of the tag, each with its post."""
    filters = _filters(author_id, author_username, created_after, created_before)
    # A deleted post's hashtag rows go with its deletion; a deleted user's posts' ones with the purge.
    rows = PostHashtag.objects.filter(tag=tag, post__deleted_at__isnull=True, **{f"post__{k}": v for k, v in filters.items()
                                                  if not k.startswith("created_at")})
    if created_after is not None:
        rows = rows.filter(created_at__gte=created_after)
    if created_before is not None:
        rows = rows.filter(created_at__lt=created_before)
    if search:
        rows = rows.filter(post__search_vector=SearchQuery(search, search_type="websearch", config="english"))
    return rows.select_related("post__author" if with_author else "post")


def _posts(tag, *, author_id, author_username, search, created_after, created_before, with_author,
           leave_out=()) -> QuerySet[Post]:
    queryset = posts().filter(**_filters(author_id, author_username, created_after, created_before))
    if tag is not None:
        # A rare tag's posts are fetched by id and sorted (a few ms); walking the counter's index
        # for them reads about (all posts / the tag's posts) rows per row of the page (~100 ms for a
        # tag on 1,600 of 1M posts). A common tag keeps the walk, which stops after the page.
        ids = list(PostHashtag.objects.filter(tag=tag).values_list("post_id", flat=True)[: RARE_TAG_POSTS + 1])
        if len(ids) <= RARE_TAG_POSTS:
            queryset = queryset.filter(id__in=ids)
        else:
            queryset = queryset.filter(id__in=PostHashtag.objects.filter(tag=tag).values("post_id"))
    if search:
        queryset = queryset.filter(search_vector=SearchQuery(search, search_type="websearch", config="english"))
    if with_author:
        queryset = queryset.select_related("author")
    if leave_out:
        queryset = queryset.defer(*leave_out)
    return queryset


def user_posts(user_id: int) -> QuerySet[Post]:
    """One user's posts; page newest first on (created_at, id) with the (author, created_at, id) index."""
    return posts().filter(author_id=user_id)


def first_user_posts(user_ids: Iterable[int], limit: int, reverse: bool = False) -> dict[int, list[Post]]:
    """The newest ``limit`` posts of each user (with ``reverse``, the oldest, oldest first), in one query."""
    return first_per_parent(posts, "author", user_ids, POST_NEWEST_ORDER, limit, descending=True,
                            where=VISIBLE, reverse=reverse, shape="posts")


def mentioned_users(post_ids: Iterable[int]) -> dict[int, list[User]]:
    """The users each post mentions, in one query (ordered by username)."""
    through = Post.mentions.through
    grouped: dict[int, list[User]] = {pk: [] for pk in post_ids}
    rows = through.objects.filter(post_id__in=list(grouped)).select_related("user").order_by("user__username")
    for row in rows:
        grouped[row.post_id].append(row.user)
    return grouped
