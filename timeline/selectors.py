"""The home feed (Query.feed, feedUpdated): fan-out on read, one SQL statement per page.

The entries are posts by the viewer and the users they follow and posts those users shared; see
:func:`home_feed` for the rules and the plan. Keyset cursor: (at, kind, entry_id).
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from functools import cache
from typing import Sequence

from django.db import connection

from common import prepared
from common.sql import planned_each_time

from feed.models import POST_DEFERRED, Post
from interactions.models import Share
from users.models import Follow, User

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


def _bounds(after: tuple | None, before: tuple | None = None) -> tuple[str, str]:
    """SQL conditions for the post and share branches: entries after the cursor ``after`` = (at, kind, id)
    (older) and before the cursor ``before`` (newer)."""
    posts, shares = ["TRUE"], ["TRUE"]
    if after is not None:
        if after[1] == ENTRY_POST:
            posts.append("(p.created_at, p.id) < (%(at)s, %(id)s)")
            shares.append("s.created_at < %(at)s")
        else:
            posts.append("p.created_at <= %(at)s")
            shares.append("(s.created_at, s.id) < (%(at)s, %(id)s)")
    if before is not None:
        if before[1] == ENTRY_POST:
            posts.append("(p.created_at, p.id) > (%(before_at)s, %(before_id)s)")
            shares.append("s.created_at >= %(before_at)s")
        else:
            posts.append("p.created_at > %(before_at)s")
            shares.append("(s.created_at, s.id) > (%(before_at)s, %(before_id)s)")
    return " AND ".join(posts[1:] or posts), " AND ".join(shares[1:] or shares)


@cache
def _entry_fields() -> tuple[list, list, list]:
    """The columns a feed entry reads: its post's (those responses use), its author's, share's and sharer's."""
    return _columns(Post, exclude=POST_DEFERRED), _columns(User, exclude=("password",)), _columns(Share)


@cache
def _entry_makers(db: str) -> tuple:
    """Per model of an entry row (post, author, share, sharer): its columns' span in the row and its maker."""
    post_fields, user_fields, share_fields = _entry_fields()
    spans = []
    offset = 4
    for model, fields in ((Post, post_fields), (User, user_fields), (Share, share_fields), (User, user_fields)):
        spans.append((offset, offset + len(fields), prepared.instance_maker(model, [f.attname for f in fields], db)))
        offset += len(fields)
    return tuple(spans)


# The statement text per (way, cursor kinds, direction, and the page size of a prepared one): built once.
_FEED_SQL: dict[tuple, str] = {}

# The way each viewer's feed was last found to be cheaper (scan: the global walk), per page size, learned from
# the statement that chooses it; kept STRATEGY_SECONDS, so a viewer who follows many more accounts since
# is re-evaluated soon. A wrong way is only slower, never different: both give the same entries.
STRATEGY_SECONDS = 60.0
STRATEGY_VIEWERS = 10_000  # at most this many remembered per process (then all are forgotten at once)
_strategies: dict[tuple[int, int], tuple[float, bool]] = {}


def _known_strategy(viewer_id: int, limit: int) -> bool | None:
    known = _strategies.get((viewer_id, limit))
    if known is None or known[0] < time.monotonic():
        return None
    return known[1]


def _learn_strategy(viewer_id: int, limit: int, scan: bool) -> None:
    if len(_strategies) >= STRATEGY_VIEWERS:
        _strategies.clear()
    _strategies[(viewer_id, limit)] = (time.monotonic() + STRATEGY_SECONDS, scan)


def forget_strategies() -> None:
    """Every viewer's feed chooses its way again at its next page, with statements built anew (tests; after a
    change of FEED_SEEK_COST, which the choosing statement's text holds)."""
    _strategies.clear()
    _FEED_SQL.clear()


def _feed_sql(scan: bool | None, after: tuple | None, before: tuple | None, backward: bool,
              limit: int | None = None) -> str:
    """The home feed's statement (see :func:`home_feed`). ``scan``: the way to find entries, when known (then
    the statement holds just that way, and is prepared: its plan does not depend on the viewer); None: both
    ways, chosen in the statement from the viewer's follows (planned for its parameters each time), whose
    choice is the last column of every row."""
    post_bound, share_bound = _bounds(after, before)
    d = "" if backward else " DESC"  # the direction entries are read in
    share_table = Share._meta.db_table
    follows = Follow._meta.db_table
    post_table = Post._meta.db_table
    followed = lambda column: (  # noqa: E731
        f"EXISTS (SELECT 1 FROM {follows} fx WHERE fx.follower_id = %(viewer)s AND fx.followee_id = {column})"
    )
    not_shared = (
        f"NOT EXISTS (SELECT 1 FROM {share_table} sx WHERE sx.post_id = p.id AND {followed('sx.user_id')})"
    )
    # The per-author seeks read few authors: their shares, hashed once, answer "shared by a followed user"
    # for each post read (a probe per post otherwise, or a linear pass over them).
    seek_not_shared = (
        f"p.id NOT IN (SELECT sx.post_id FROM {share_table} sx WHERE sx.user_id IN (SELECT uid FROM followees))"
    )
    # Both ways of finding post entries are in the statement; a one-time filter runs just one of them.
    post_entries = (
        f"(SELECT p.created_at AS at, {ENTRY_POST} AS kind, p.id AS entry_id, p.id AS post_id, "
        f"NULL::bigint AS share_id FROM {post_table} p "
        f"WHERE (SELECT scan FROM strategy) "
        f"AND (p.author_id = %(viewer)s OR p.author_id IN (SELECT uid FROM followees)) AND {post_bound} "
        f"AND p.deleted_at IS NULL "
        f"AND {not_shared} ORDER BY p.created_at{d}, p.id{d} LIMIT %(limit)s) "
        f"UNION ALL "
        f"(SELECT p.created_at AS at, {ENTRY_POST} AS kind, p.id AS entry_id, p.id AS post_id, "
        f"NULL::bigint AS share_id "
        f"FROM (SELECT uid FROM followees UNION ALL SELECT %(viewer)s::bigint) a CROSS JOIN LATERAL ("
        f"SELECT p.id, p.created_at FROM {post_table} p WHERE p.author_id = a.uid AND {post_bound} "
        f"AND p.deleted_at IS NULL "
        f"AND {seek_not_shared} ORDER BY p.created_at{d}, p.id{d} LIMIT %(limit)s) p "
        f"WHERE NOT (SELECT scan FROM strategy) ORDER BY at{d}, entry_id{d} LIMIT %(limit)s)"
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
    share_conditions = (
        f"{share_bound} AND s.created_at {'<=' if backward else '>='} (SELECT at FROM floor) "
        f"AND EXISTS (SELECT 1 FROM {post_table} px WHERE px.id = s.post_id AND px.deleted_at IS NULL) "
        f"AND NOT EXISTS (SELECT 1 FROM {share_table} sy WHERE sy.post_id = s.post_id "
        f"AND (sy.created_at, sy.id) > (s.created_at, s.id) AND {followed('sy.user_id')})"
    )
    # As for posts, two ways, one run: with the global walk, everyone's newest shares down to the floor (few:
    # the floor is recent when the followed accounts post a lot); else each followed user's share index.
    share_entries = (
        f"(SELECT s.created_at AS at, {ENTRY_SHARE} AS kind, s.id AS entry_id, s.post_id, s.id AS share_id "
        f"FROM {share_table} s WHERE (SELECT scan FROM strategy) AND {followed('s.user_id')} "
        f"AND {share_conditions} ORDER BY s.created_at{d}, s.id{d} LIMIT %(limit)s) "
        f"UNION ALL "
        f"(SELECT s.created_at AS at, {ENTRY_SHARE} AS kind, s.id AS entry_id, s.post_id, s.id AS share_id "
        f"FROM followees f CROSS JOIN LATERAL ("
        f"SELECT s.id, s.post_id, s.created_at FROM {share_table} s WHERE s.user_id = f.uid "
        f"AND {share_conditions} ORDER BY s.created_at{d}, s.id{d} LIMIT %(limit)s) s "
        f"WHERE NOT (SELECT scan FROM strategy))"
    )
    post_fields, user_fields, share_fields = _entry_fields()

    def select(alias, fields):
        return ", ".join(f'{alias}."{f.column}"' for f in fields)

    if scan is not None:  # only the branch of that way: PostgreSQL drops the other at planning
        post_entries = post_entries.replace("(SELECT scan FROM strategy)", "TRUE" if scan else "FALSE")
        share_entries = share_entries.replace("(SELECT scan FROM strategy)", "TRUE" if scan else "FALSE")
    strategy_cte = f"strategy AS MATERIALIZED ({strategy}), " if scan is None else ""
    sql = (
        f"WITH followees AS MATERIALIZED (SELECT followee_id AS uid FROM {follows} WHERE follower_id = %(viewer)s), "
        f"{strategy_cte}"
        f"post_entries AS MATERIALIZED ({post_entries}), "
        f"floor AS (SELECT CASE WHEN count(*) >= %(limit)s THEN {'max' if backward else 'min'}(at) "
        f"ELSE '{'' if backward else '-'}infinity' END AS at FROM post_entries), "
        f"page AS (SELECT * FROM (SELECT * FROM post_entries UNION ALL ({share_entries})) e "
        f"ORDER BY at{d}, kind{d}, entry_id{d} LIMIT %(limit)s) "
        f"SELECT page.at, page.kind, page.entry_id, {followed('p.author_id')}, "
        f"{select('p', post_fields)}, {select('a', user_fields)}, {select('s', share_fields)}, "
        f"{select('su', user_fields)}{', (SELECT scan FROM strategy)' if scan is None else ''} "
        f"FROM page JOIN {post_table} p ON p.id = page.post_id JOIN {User._meta.db_table} a ON a.id = p.author_id "
        f"LEFT JOIN {share_table} s ON s.id = page.share_id "
        f"LEFT JOIN {User._meta.db_table} su ON su.id = s.user_id "
        f"ORDER BY page.at{d}, page.kind{d}, page.entry_id{d}"
    )
    if limit is not None:
        # The page size in the text: a generic plan that does not know it reckons on a tenth of every row (a
        # viewer following 2,000 accounts: a sequential scan of all posts, 300 ms, instead of an index walk).
        sql = sql.replace("%(limit)s", str(int(limit)))
    return sql


def home_feed(viewer: User, *, limit: int, after: tuple | None = None, before: tuple | None = None,
              backward: bool = False) -> list[FeedEntry]:
    """Up to ``limit`` entries of ``viewer``'s home feed after the cursor ``after`` = (at, kind, entry_id).

    Paging backward (``backward``): the ``limit`` entries just before (newer than) the cursor ``before``,
    or the oldest entries without it, returned oldest first (the order they are read in); every index
    below is then read the other way. ``after`` and ``before`` together bound a window.

    Entries: the viewer's posts and followed users' posts (at = created_at, kind 0) and posts that
    followed users shared (at = the share's created_at, kind 1), newest first by (at, kind, id).
    A post appears once, at its newest entry: a post entry is dropped when a followed user shared
    the post (every share is newer than its post), and a share entry when a followed user shared the
    same post later. Both rules look only at rows, so a page never depends on earlier pages: no
    repeats and no gaps while new posts and shares arrive.

    One SQL statement (the entries, their posts, authors, shares and sharers), fan-out on read (the first
    for a viewer holds both ways of step 1 and reports its choice; the next ones, for STRATEGY_SECONDS, hold
    only the chosen way and are prepared):
    1. post entries: when the followed authors wrote a good share of all posts (a viewer following
       many or busy accounts), a walk down the global (created_at, id) index keeping their posts
       (stops after ``limit`` hits); otherwise a seek of each followed author's (author, created_at,
       id) index, ``limit`` each, merged. The choice is made in the statement, from the authors'
       post counts (a one-time filter skips the other branch);
    2. the ``limit``-th post entry's time is a floor: an older share cannot make the page, so the
       share branch reads only shares above it: with the global walk, down the global (created_at, id)
       share index keeping followed users' shares (the floor is recent then: a few entries); otherwise
       a seek of each followed user's (user, created_at, id) share index (mostly one empty probe each);
    3. "followed by the viewer" is always an index probe of the (follower, followee) unique index;
    4. deleted posts (``deleted_at``, hidden until purged) are left out of both branches (a share of
       one: a primary-key probe of the post).
    Backward, the ``limit``-th post entry's time is a ceiling instead.
    """
    scan = _known_strategy(viewer.pk, limit)
    key = (scan, after and after[1], before and before[1], backward, limit if scan is not None else None)
    sql = _FEED_SQL.get(key)
    if sql is None:
        sql = _feed_sql(scan, after, before, backward, key[-1])
        if len(_FEED_SQL) < 512:
            _FEED_SQL[key] = sql
    params = {"viewer": viewer.pk, "limit": limit}
    if after is not None:
        params.update(at=after[0], id=after[2])
    if before is not None:
        params.update(before_at=before[0], before_id=before[2])
    db = connection.alias
    entries = []
    if scan is None:
        connection.close_if_health_check_failed()  # the connection planned_each_time sets is the one used
        connection.ensure_connection()
        with planned_each_time(connection):  # both ways in one statement: its plan is the viewer's
            rows = prepared.rows_of(sql, params, connection)
        if rows:
            _learn_strategy(viewer.pk, limit, bool(rows[0][-1]))
    else:
        rows = prepared.rows_of(sql, params, connection)
    (p0, p1, make_post), (a0, a1, make_author), (s0, s1, make_share), (u0, u1, make_sharer) = _entry_makers(db)
    for row in rows:
        at, kind, entry_id, author_followed = row[:4]
        post = make_post(row[p0:p1])
        post.author = make_author(row[a0:a1])
        share = None
        if kind == ENTRY_SHARE:
            share = make_share(row[s0:s1])
            share.user = make_sharer(row[u0:u1])
            share.post = post
        entries.append(FeedEntry(at, kind, entry_id, post, share, bool(author_followed)))
    return entries
