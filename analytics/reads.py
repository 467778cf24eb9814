"""Reading the analytics: what PostgreSQL's hourly buckets hold plus the counts still pending in Redis.

With Redis unreachable (``keys.REDIS_DOWN``) the pending counts read as none: views, totals and
timelines fall back to what PostgreSQL holds (the stored counters and the flushed buckets, at most
one flush interval behind). Only :func:`unique_viewers` has nothing to fall back to and raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from django.db import connection

from feed.models import Post

from . import keys
from .hours import HOUR, from_epoch, now_ts, to_epoch
from .models import PostStatsBucket, PostStatsDay

logger = logging.getLogger(__name__)

# A request for more buckets than this is refused (a year of days fits; so do 83 days of hours).
MAX_BUCKETS = 2000


# --- pending counts -------------------------------------------------------------------
def pending_views(post_ids: Sequence[int]) -> list[int]:
    """Views of each post not yet folded into ``Post.view_count``: one HMGET, no SQL."""
    if not post_ids:
        return []
    try:
        values = keys.redis().hmget(keys.pending_views_key(), list(post_ids))
    except keys.REDIS_DOWN as error:
        _without_redis("pending views", error)
        return [0] * len(post_ids)
    return [int(v) if v is not None else 0 for v in values]


def unique_viewers(post_ids: Sequence[int]) -> list[int]:
    """HyperLogLog estimates of each post's distinct viewers (standard error 0.81%): one round trip."""
    if not post_ids:
        return []
    pipe = keys.redis().pipeline(transaction=False)
    for pk in post_ids:
        pipe.pfcount(keys.hll_key(pk))
    return [int(n) for n in pipe.execute()]


# --- timelines --------------------------------------------------------------------------
@dataclass
class Bucket:
    """Counts of one time bucket."""

    start: datetime
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0


class AnalyticsInputError(ValueError):
    """A timeline request that can't be answered (the GraphQL layer makes it BAD_USER_INPUT)."""

    def __init__(self, message: str, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


@dataclass(frozen=True)
class Span:
    """Bucket starts ``first, first + size, ..., last`` (epoch seconds), ``count`` of them."""

    size: int
    first: int
    last: int

    @property
    def count(self) -> int:
        return 0 if self.last < self.first else (self.last - self.first) // self.size + 1

    @property
    def end(self) -> int:
        """Just after the last bucket."""
        return self.last + self.size


def bucket_span(size: int, since: datetime | None, until: datetime | None, *, default_since: datetime,
                now: datetime | float | None = None) -> Span:
    """The buckets a timeline covers: every bucket whose start is in ``[floor(since), until)``.

    ``until`` defaults to now (so the current, partly elapsed bucket is included); ``since`` to
    ``default_since`` (a post's creation), but then at most the last :data:`MAX_BUCKETS` buckets.
    Buckets are UTC hours or UTC days. An explicit range of more than :data:`MAX_BUCKETS` buckets,
    or ``since`` after ``until``, is an :class:`AnalyticsInputError`.
    """
    end = to_epoch(until) if until is not None else int(now_ts(now))
    last = (end - 1) // size * size  # the last bucket starting before `until`
    if since is not None:
        first = to_epoch(since) // size * size
        if to_epoch(since) > end:
            raise AnalyticsInputError("`since` must not be after `until`.", "since")
    else:
        first = min(to_epoch(default_since) // size * size, last)
        first = max(first, last - (MAX_BUCKETS - 1) * size)
    span = Span(size, first, last)
    for moment, argument in ((span.first, "since"), (span.end, "until")):
        try:
            from_epoch(moment)  # every bucket's start must be a datetime (years 1-9999 in UTC)
        except (ValueError, OverflowError, OSError):
            raise AnalyticsInputError(f"`{argument}` is out of range: buckets must lie within the years 1-9999 "
                                      "(UTC).", argument) from None
    if span.count > MAX_BUCKETS:
        unit = "hours" if size == HOUR else "days"
        raise AnalyticsInputError(
            f"A timeline has at most {MAX_BUCKETS} buckets; this range has {span.count} {unit}. "
            f"Narrow `since`/`until` or use larger buckets.", "since")
    return span


def _fill(span: Span, found: dict[int, list[int]]) -> list[Bucket]:
    buckets = []
    for start in range(span.first, span.last + 1, span.size) if span.count else ():
        v, l, c, s = found.get(start, (0, 0, 0, 0))
        buckets.append(Bucket(from_epoch(start), v, l, c, s))
    return buckets


def _add_pending(found: dict[int, list[int]], hours: dict[int, dict[str, int]], span: Span) -> None:
    for hour, kinds in hours.items():
        start = hour // span.size * span.size
        if span.first <= start <= span.last:
            row = found.setdefault(start, [0, 0, 0, 0])
            for i, kind in enumerate("vlcs"):
                row[i] += kinds.get(kind, 0)


def _bucket_sql(where: str, group: str) -> str:
    # The hourly buckets and the days rolled up from older ones (analytics.jobs.roll_up_stats): a count is
    # in exactly one of them. A day counts in the bucket of its first hour.
    rows = " UNION ALL ".join(
        f"SELECT {group}, start, views, likes, comments, shares FROM {table} "
        f"WHERE {where} AND start >= %s AND start < %s"
        for table in (PostStatsBucket._meta.db_table, PostStatsDay._meta.db_table)
    )
    return (
        f"SELECT {group}, (floor(extract(epoch FROM start) / %s) * %s)::bigint AS b, "
        f"sum(views), sum(likes), sum(comments), sum(shares) FROM ({rows}) AS buckets GROUP BY 1, 2"
    )


def post_timelines(requests: Sequence[tuple[int, Span]]) -> list[list[Bucket]]:
    """Timelines of several posts, each ``(post_id, span)``: one SQL query per bucket size, one Redis round trip."""
    results: list[list[Bucket] | None] = [None] * len(requests)
    by_size: dict[int, list[int]] = {}
    for i, (_, span) in enumerate(requests):
        by_size.setdefault(span.size, []).append(i)
    post_ids = sorted({pk for pk, _ in requests})
    try:
        hashes = keys.pending_hashes([keys.post_key(pk) for pk in post_ids])
    except keys.REDIS_DOWN as error:
        _without_redis("pending timeline counts", error)
        hashes = [{} for _ in post_ids]
    pending = dict(zip(post_ids, (keys.parse_pending(h) for h in hashes)))
    for size, indexes in by_size.items():
        spans = [requests[i][1] for i in indexes]
        ids = sorted({requests[i][0] for i in indexes})
        lo, hi = min(s.first for s in spans), max(s.end for s in spans)
        rows: dict[int, dict[int, list[int]]] = {}
        if hi > lo:
            with connection.cursor() as cursor:
                cursor.execute(_bucket_sql("post_id = ANY(%s)", "post_id"),
                               [size, size] + [ids, from_epoch(lo), from_epoch(hi)] * 2)
                for post_id, start, *counts in cursor.fetchall():
                    rows.setdefault(post_id, {})[start] = [int(c) for c in counts]
        for i in indexes:
            post_id, span = requests[i]
            found = {b: list(c) for b, c in rows.get(post_id, {}).items() if span.first <= b <= span.last}
            _add_pending(found, pending.get(post_id, {}), span)
            results[i] = _fill(span, found)
    return results  # type: ignore[return-value]


def user_timeline(author_id: int, span: Span) -> list[Bucket]:
    """Interactions with all of an author's posts per bucket: one SQL query (the author index), one HGETALL."""
    found: dict[int, list[int]] = {}
    if span.count:
        with connection.cursor() as cursor:
            cursor.execute(_bucket_sql("author_id = %s", "author_id"),
                           [span.size, span.size] + [author_id, from_epoch(span.first), from_epoch(span.end)] * 2)
            for _, start, *counts in cursor.fetchall():
                found[start] = [int(c) for c in counts]
    try:
        raw = keys.redis().hgetall(keys.user_key(author_id))
    except keys.REDIS_DOWN as error:
        _without_redis("pending timeline counts", error)
        raw = {}
    _add_pending(found, keys.parse_pending(raw), span)
    return _fill(span, found)


# --- totals -----------------------------------------------------------------------------
@dataclass
class UserTotals:
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0


def user_totals(author_ids: Sequence[int]) -> list[UserTotals]:
    """What each author's posts received: the posts' exact counters plus views still pending in Redis."""
    if not author_ids:
        return []
    totals = {pk: UserTotals() for pk in author_ids}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT author_id, coalesce(sum(view_count), 0), coalesce(sum(like_count), 0), "
            f"coalesce(sum(comment_count), 0), coalesce(sum(share_count), 0) "
            f"FROM {Post._meta.db_table} WHERE author_id = ANY(%s) AND deleted_at IS NULL GROUP BY author_id",
            [list(author_ids)],
        )
        for author_id, views, likes, comments, shares in cursor.fetchall():
            totals[author_id] = UserTotals(int(views), int(likes), int(comments), int(shares))
    try:
        pipe = keys.redis().pipeline(transaction=False)
        for pk in author_ids:
            pipe.hget(keys.user_key(pk), "v")
        pending_views_of = pipe.execute()
    except keys.REDIS_DOWN as error:
        _without_redis("pending views", error)
        pending_views_of = [0] * len(author_ids)
    for pk, pending in zip(author_ids, pending_views_of):
        totals[pk].views += int(pending or 0)
    return [totals[pk] for pk in author_ids]


def _without_redis(what: str, error: Exception) -> None:
    logger.warning("analytics: Redis unavailable, %s read as none (PostgreSQL's counts only): %s", what, error)
