"""Reads for posts and the home feed (and the read side of a post's interactions).

Every list here is read with a keyset seek on an index of the same order (see
the indexes in feed/models.py and interactions/models.py); the GraphQL layer
pages with ``schema.core.connection``. Nothing here counts rows or uses OFFSET.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import QuerySet

from common.sql import first_per_parent
from interactions.models import Bookmark, Comment, Like, Share
from users.models import Follow, User

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

# Columns never needed to answer a query (the search vector is as big as the body).
_POST_DEFERRED = ("search_vector",)


def posts() -> QuerySet[Post]:
    """All posts, without the columns no response needs."""
    return Post.objects.defer(*_POST_DEFERRED)


def post_get(post_id: int) -> Post | None:
    return posts().select_related("author").filter(pk=post_id).first()


@dataclass
class PostListing:
    """A queryset to page through in (fields..., descending) order, and how to get a Post from a row."""

    queryset: QuerySet
    fields: tuple[str, ...]
    descending: bool
    node_of: Callable[[Any], Post] = field(default=lambda row: row)


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
) -> PostListing:
    """Posts filtered and ordered for Query.posts.

    A hashtag filter in creation order seeks the PostHashtag index (tag, created_at, post) and
    joins the post in: a rare tag costs what a common one does.
    """
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
    search = (search or "").strip()
    tag = normalize_hashtag(hashtag) if hashtag is not None else None

    if tag is not None and order == "CREATED_AT":
        rows = PostHashtag.objects.filter(tag=tag, **{f"post__{k}": v for k, v in filters.items()
                                                      if not k.startswith("created_at")})
        if created_after is not None:
            rows = rows.filter(created_at__gte=created_after)
        if created_before is not None:
            rows = rows.filter(created_at__lt=created_before)
        if search:
            rows = rows.filter(post__search_vector=SearchQuery(search, search_type="websearch", config="english"))
        rows = rows.select_related("post__author" if with_author else "post").defer(
            *(f"post__{name}" for name in _POST_DEFERRED)
        )
        return PostListing(rows, ("created_at", "post_id"), descending, node_of=lambda row: row.post)

    queryset = posts().filter(**filters)
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
    return PostListing(queryset, POST_ORDERINGS[order], descending)


def user_posts(user_id: int) -> QuerySet[Post]:
    """One user's posts; page newest first on (created_at, id) with the (author, created_at, id) index."""
    return posts().filter(author_id=user_id)


# --- a post's interactions --------------------------------------------------------------------
COMMENT_ORDER = ("created_at", "id")  # oldest first
LIKE_ORDER = ("created_at", "id")  # newest first
SHARE_ORDER = ("created_at", "id")  # newest first
TOP_LEVEL = "x.parent_id IS NULL"
POST_NEWEST_ORDER = ("created_at", "id")


def post_comments(post_id: int) -> QuerySet[Comment]:
    """Top-level comments of a post (page oldest first on the partial (post, created_at, id) index)."""
    return Comment.objects.filter(post_id=post_id, parent__isnull=True).select_related("author")


def comment_replies(comment_id: int) -> QuerySet[Comment]:
    """Direct replies to a comment (page oldest first on (parent, created_at, id))."""
    return Comment.objects.filter(parent_id=comment_id).select_related("author")


def post_likes(post_id: int) -> QuerySet[Like]:
    return Like.objects.filter(post_id=post_id).select_related("user")


def post_shares(post_id: int) -> QuerySet[Share]:
    return Share.objects.filter(post_id=post_id).select_related("user")


def first_comments(post_ids: Iterable[int], limit: int) -> dict[int, list[Comment]]:
    return first_per_parent(Comment.objects.select_related("author"), "post", post_ids, COMMENT_ORDER, limit,
                            where=TOP_LEVEL)


def first_replies(comment_ids: Iterable[int], limit: int) -> dict[int, list[Comment]]:
    return first_per_parent(Comment.objects.select_related("author"), "parent", comment_ids, COMMENT_ORDER, limit)


def first_likes(post_ids: Iterable[int], limit: int) -> dict[int, list[Like]]:
    return first_per_parent(Like.objects.select_related("user"), "post", post_ids, LIKE_ORDER, limit,
                            descending=True)


def first_shares(post_ids: Iterable[int], limit: int) -> dict[int, list[Share]]:
    return first_per_parent(Share.objects.select_related("user"), "post", post_ids, SHARE_ORDER, limit,
                            descending=True)


def first_user_posts(user_ids: Iterable[int], limit: int) -> dict[int, list[Post]]:
    return first_per_parent(posts(), "author", user_ids, POST_NEWEST_ORDER, limit, descending=True)


def mentioned_users(post_ids: Iterable[int]) -> dict[int, list[User]]:
    """The users each post mentions, in one query (ordered by username)."""
    through = Post.mentions.through
    grouped: dict[int, list[User]] = {pk: [] for pk in post_ids}
    rows = through.objects.filter(post_id__in=list(grouped)).select_related("user").order_by("user__username")
    for row in rows:
        grouped[row.post_id].append(row.user)
    return grouped


def viewer_flags(viewer_id: int, wanted: dict[str, set[int]]) -> dict[str, set[int]]:
    """Which of the given post ids the viewer liked / shared / bookmarked, in ONE query.

    ``wanted`` maps "liked" | "shared" | "bookmarked" to post ids; the answer maps each to the
    subset that is true. Each part is an index probe on the (user, post) unique index.
    """
    tables = {"liked": Like, "shared": Share, "bookmarked": Bookmark}
    parts, params = [], []
    for flag, post_ids in wanted.items():
        if not post_ids:
            continue
        table = connection.ops.quote_name(tables[flag]._meta.db_table)
        parts.append(f"SELECT %s, post_id FROM {table} WHERE user_id = %s AND post_id = ANY(%s)")
        params += [flag, viewer_id, sorted(post_ids)]
    found: dict[str, set[int]] = {flag: set() for flag in wanted}
    if not parts:
        return found
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for flag, post_id in cursor.fetchall():
            found[flag].add(post_id)
    return found


# --- the home feed ----------------------------------------------------------------------------
# Entry kinds, in their order at equal times (a share of a post sorts before the post itself).
ENTRY_POST = 0
ENTRY_SHARE = 1

# One seek of a followed author's (author, created_at, id) index costs about as much as reading this
# many entries of the global (created_at, id) index: the home feed picks the cheaper way.
FEED_SEEK_COST = 50


@dataclass
class FeedEntry:
    """One entry of a home feed: a post by a followed author (or the viewer), or a followed user's share."""

    at: datetime.datetime
    kind: int
    entry_id: int
    post: Post
    share: Share | None
    author_followed: bool


def _columns(model, exclude: Sequence[str] = ()) -> list:
    return [f for f in model._meta.concrete_fields if f.attname not in exclude and f.name not in exclude]


def _bounds(after: tuple | None) -> tuple[str, str]:
    """SQL conditions for the post and share branches: entries after the cursor (at, kind, id)."""
    if after is None:
        return "TRUE", "TRUE"
    if after[1] == ENTRY_POST:
        return "(p.created_at, p.id) < (%(at)s, %(id)s)", "s.created_at < %(at)s"
    return "p.created_at <= %(at)s", "(s.created_at, s.id) < (%(at)s, %(id)s)"


def home_feed(viewer: User, *, limit: int, after: tuple | None = None) -> list[FeedEntry]:
    """Up to ``limit`` entries of ``viewer``'s home feed after the cursor ``after`` = (at, kind, entry_id).

    Entries: the viewer's posts and followed users' posts (at = created_at, kind 0) and posts that
    followed users shared (at = the share's created_at, kind 1), newest first by (at, kind, id).
    A post appears once, at its newest entry: a post entry is dropped when a followed user shared
    the post (every share is newer than its post), and a share entry when a followed user shared the
    same post later. Both rules look only at rows, so a page never depends on earlier pages: no
    repeats and no gaps while new posts and shares arrive.

    One SQL statement (the entries, their posts, authors, shares and sharers), fan-out on read:
    1. post entries: when the followed authors wrote a good share of all posts (a viewer following
       many or busy accounts), a walk down the global (created_at, id) index keeping their posts
       (stops after ``limit`` hits); otherwise a seek of each followed author's (author, created_at,
       id) index, ``limit`` each, merged. The choice is made in the statement, from the authors'
       post counts (a one-time filter skips the other branch);
    2. the ``limit``-th post entry's time is a floor: an older share cannot make the page, so the
       share branch seeks each followed user's (user, created_at, id) share index above the floor
       (mostly one empty index probe per followed user);
    3. "followed by the viewer" is always an index probe of the (follower, followee) unique index.
    """
    post_bound, share_bound = _bounds(after)
    share_table = Share._meta.db_table
    follows = Follow._meta.db_table
    post_table = Post._meta.db_table
    followed = lambda column: (  # noqa: E731
        f"EXISTS (SELECT 1 FROM {follows} fx WHERE fx.follower_id = %(viewer)s AND fx.followee_id = {column})"
    )
    not_shared = (
        f"NOT EXISTS (SELECT 1 FROM {share_table} sx WHERE sx.post_id = p.id AND {followed('sx.user_id')})"
    )
    # Both ways of finding post entries are in the statement; a one-time filter runs just one of them.
    post_entries = (
        f"(SELECT p.created_at AS at, {ENTRY_POST} AS kind, p.id AS entry_id, p.id AS post_id, "
        f"NULL::bigint AS share_id FROM {post_table} p "
        f"WHERE (SELECT scan FROM strategy) "
        f"AND (p.author_id = %(viewer)s OR p.author_id IN (SELECT uid FROM followees)) AND {post_bound} "
        f"AND {not_shared} ORDER BY p.created_at DESC, p.id DESC LIMIT %(limit)s) "
        f"UNION ALL "
        f"(SELECT p.created_at AS at, {ENTRY_POST} AS kind, p.id AS entry_id, p.id AS post_id, "
        f"NULL::bigint AS share_id "
        f"FROM (SELECT uid FROM followees UNION ALL SELECT %(viewer)s::bigint) a CROSS JOIN LATERAL ("
        f"SELECT p.id, p.created_at FROM {post_table} p WHERE p.author_id = a.uid AND {post_bound} "
        f"AND {not_shared} ORDER BY p.created_at DESC, p.id DESC LIMIT %(limit)s) p "
        f"WHERE NOT (SELECT scan FROM strategy) ORDER BY at DESC, entry_id DESC LIMIT %(limit)s)"
    )
    # Walk the global index when that is expected to read fewer index entries than FEED_SEEK_COST
    # times the number of authors to seek: expected walk = limit * all posts / the authors' posts
    # (their post counts summed over a sample of at most 256 followed accounts, scaled up).
    strategy = (
        f"SELECT COALESCE(sum(u.post_count), 0)::float8 * (f.n + 1) / GREATEST(f.k, 1) * (f.n + 1) "
        f"* {FEED_SEEK_COST} >= %(limit)s * GREATEST(c.reltuples, 1) AS scan "
        f"FROM (SELECT count(*) AS n, LEAST(count(*), 256) AS k FROM followees) f "
        f"CROSS JOIN pg_class c LEFT JOIN {User._meta.db_table} u "
        f"ON u.id = ANY(ARRAY(SELECT uid FROM followees LIMIT 256)) "
        f"WHERE c.oid = '{post_table}'::regclass GROUP BY f.n, f.k, c.reltuples"
    )
    share_entries = (
        f"SELECT s.created_at AS at, {ENTRY_SHARE} AS kind, s.id AS entry_id, s.post_id, s.id AS share_id "
        f"FROM followees f CROSS JOIN LATERAL ("
        f"SELECT s.id, s.post_id, s.created_at FROM {share_table} s WHERE s.user_id = f.uid AND {share_bound} "
        f"AND s.created_at >= (SELECT at FROM floor) "
        f"AND NOT EXISTS (SELECT 1 FROM {share_table} sy WHERE sy.post_id = s.post_id "
        f"AND (sy.created_at, sy.id) > (s.created_at, s.id) AND {followed('sy.user_id')}) "
        f"ORDER BY s.created_at DESC, s.id DESC LIMIT %(limit)s) s"
    )
    post_fields = _columns(Post, exclude=_POST_DEFERRED)
    user_fields = _columns(User, exclude=("password",))
    share_fields = _columns(Share)

    def select(alias, fields):
        return ", ".join(f'{alias}."{f.column}"' for f in fields)

    sql = (
        f"WITH followees AS MATERIALIZED (SELECT followee_id AS uid FROM {follows} WHERE follower_id = %(viewer)s), "
        f"strategy AS MATERIALIZED ({strategy}), "
        f"post_entries AS MATERIALIZED ({post_entries}), "
        f"floor AS (SELECT CASE WHEN count(*) >= %(limit)s THEN min(at) ELSE '-infinity' END AS at "
        f"FROM post_entries), "
        f"page AS (SELECT * FROM (SELECT * FROM post_entries UNION ALL ({share_entries})) e "
        f"ORDER BY at DESC, kind DESC, entry_id DESC LIMIT %(limit)s) "
        f"SELECT page.at, page.kind, page.entry_id, {followed('p.author_id')}, "
        f"{select('p', post_fields)}, {select('a', user_fields)}, {select('s', share_fields)}, "
        f"{select('su', user_fields)} "
        f"FROM page JOIN {post_table} p ON p.id = page.post_id JOIN {User._meta.db_table} a ON a.id = p.author_id "
        f"LEFT JOIN {share_table} s ON s.id = page.share_id "
        f"LEFT JOIN {User._meta.db_table} su ON su.id = s.user_id "
        f"ORDER BY page.at DESC, page.kind DESC, page.entry_id DESC"
    )
    params = {"viewer": viewer.pk, "limit": limit}
    if after is not None:
        params.update(at=after[0], id=after[2])
    db = connection.alias
    entries = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = lambda fields: [f.attname for f in fields]  # noqa: E731
    spans = []
    offset = 4
    for fields in (post_fields, user_fields, share_fields, user_fields):
        spans.append((offset, offset + len(fields), names(fields)))
        offset += len(fields)
    for row in rows:
        at, kind, entry_id, author_followed = row[:4]
        (p0, p1, pn), (a0, a1, an), (s0, s1, sn), (u0, u1, un) = spans
        post = Post.from_db(db, pn, row[p0:p1])
        post.author = User.from_db(db, an, row[a0:a1])
        share = None
        if kind == ENTRY_SHARE:
            share = Share.from_db(db, sn, row[s0:s1])
            share.user = User.from_db(db, un, row[u0:u1])
            share.post = post
        entries.append(FeedEntry(at, kind, entry_id, post, share, bool(author_followed)))
    return entries
