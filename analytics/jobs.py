"""The periodic jobs: :func:`flush_stats` folds pending Redis counts into PostgreSQL; :func:`backfill_stats`
rebuilds the buckets' likes/comments/shares from the rows.

The flush never loses a count and never applies one twice: it *copies* a batch of pending counts,
adds them to PostgreSQL in one transaction and, after the commit, *subtracts* exactly the copied
amounts in one atomic Lua script. Counts that arrive meanwhile just stay pending. A crash between
the commit and the subtraction is repaired by the next flush, which asks PostgreSQL whether the
batch's transaction committed (``pg_xact_status``). Flushes are serialized by a PostgreSQL
advisory lock held for the whole run (released by PostgreSQL if the process dies).
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from feed.models import Post
from interactions.models import Comment, Like, Share

from . import keys
from .hours import from_epoch, hour_of
from .models import PostStatsBucket, PostStatsDay

logger = logging.getLogger(__name__)


@dataclass
class FlushResult:
    posts: int = 0
    buckets: int = 0
    views: int = 0
    batches: int = 0
    recovered: bool = False
    skipped: bool = False
    missing_posts: list[int] = field(default_factory=list)


def lock_key() -> int:
    """A 63-bit advisory lock id for this deployment's flush."""
    return zlib.crc32(f"{settings.REDIS_KEY_PREFIX}:flush_stats".encode()) | (0x5E7A << 32)


def flush_stats(*, batch_size: int = 500) -> FlushResult:
    """Folds the pending Redis counts into PostStatsBucket rows and ``Post.view_count``.

    Safe to run at any time and from several processes at once (one runs, the others return
    ``skipped``); counts recorded while it runs stay pending for the next run. Meant to be called
    every minute or so by a scheduler (a Celery task can call it as is). Returns what it folded.
    """
    result = FlushResult()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key()])
        if not cursor.fetchone()[0]:
            result.skipped = True
            return result
    try:
        if not _recover(result):
            result.skipped = True
            return result
        dirty = sorted(int(pk) for pk in keys.redis().sscan_iter(keys.dirty_key(), count=1000))
        for start in range(0, len(dirty), batch_size):
            _flush_batch(dirty[start:start + batch_size], result)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key()])
    return result


def _recover(result: FlushResult) -> bool:
    """Finishes a batch a crashed flush left behind. False when it can't be decided yet."""
    raw = keys.redis().get(keys.flushing_key())
    if raw is None:
        return True
    batch = json.loads(raw)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_xact_status(%s::text::xid8)", [batch["xid"]])
        status = cursor.fetchone()[0]
    if status == "in progress":  # its session still lives (it holds no lock, though): wait
        logger.warning("flush_stats: batch %s still in progress; not flushing", batch["xid"])
        return False
    if status == "aborted":
        keys.redis().delete(keys.flushing_key())  # nothing was applied; the counts are still pending
        return True
    if status is None:
        logger.warning("flush_stats: batch %s too old to verify; assuming it committed", batch["xid"])
    keys.script(keys.SUBTRACT)(args=[keys.prefix(), json.dumps(batch["items"])])
    result.recovered = True
    return True


def _flush_batch(post_ids: list[int], result: FlushResult) -> None:
    hashes = keys.pending_hashes([keys.post_key(pk) for pk in post_ids])
    items = []  # for the Lua subtraction
    b_post, b_start, b_v, b_l, b_c, b_s = [], [], [], [], [], []
    view_totals: dict[int, int] = {}
    for post_id, raw in zip(post_ids, hashes):
        if not raw:
            continue
        raw = {k.decode(): int(v) for k, v in raw.items()}
        author = str(raw.pop("a", ""))
        fields = {f: str(-n) for f, n in raw.items()}  # zeros too: the script deletes them
        hours = keys.parse_pending(raw)
        views = 0
        for hour, kinds in sorted(hours.items()):
            counts = [kinds.get(k, 0) for k in "vlcs"]
            if any(counts):
                b_post.append(post_id)
                b_start.append(from_epoch(hour))
                b_v.append(counts[0]), b_l.append(counts[1]), b_c.append(counts[2]), b_s.append(counts[3])
                views += counts[0]
        if views:
            view_totals[post_id] = views
        items.append([str(post_id), author, fields, str(-views)])
    if not items:
        return
    bucket_table, post_table = PostStatsBucket._meta.db_table, Post._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text")
            xid = cursor.fetchone()[0]
            cursor.execute(
                f"""
                INSERT INTO {bucket_table} AS b (post_id, author_id, start, views, likes, comments, shares)
                SELECT v.post_id, p.author_id, v.start, v.views, v.likes, v.comments, v.shares
                FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::int[], %s::int[], %s::int[])
                     AS v(post_id, start, views, likes, comments, shares)
                JOIN {post_table} p ON p.id = v.post_id AND p.deleted_at IS NULL
                ORDER BY v.post_id, v.start
                ON CONFLICT (post_id, start) DO UPDATE SET
                    views = b.views + EXCLUDED.views, likes = b.likes + EXCLUDED.likes,
                    comments = b.comments + EXCLUDED.comments, shares = b.shares + EXCLUDED.shares
                RETURNING post_id
                """,
                [b_post, b_start, b_v, b_l, b_c, b_s],
            )
            written = [row[0] for row in cursor.fetchall()]
            if view_totals:
                ids = sorted(view_totals)
                cursor.execute(
                    f"""
                    UPDATE {post_table} p SET view_count = p.view_count + v.n
                    FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, n) WHERE p.id = v.id
                    """,
                    [ids, [view_totals[i] for i in ids]],
                )
        # Written before the commit: if we die after it, the next flush finds the batch and asks
        # PostgreSQL whether this transaction committed.
        keys.redis().set(keys.flushing_key(), json.dumps({"xid": xid, "items": items}))
    keys.script(keys.SUBTRACT)(args=[keys.prefix(), json.dumps(items)])
    present = set(written)
    missing = sorted({pk for pk in b_post if pk not in present})
    if missing:  # deleted since: their counts are dropped, and so is their HyperLogLog
        keys.redis().delete(*[keys.hll_key(pk) for pk in missing])
        result.missing_posts += missing
    result.batches += 1
    result.posts += len(items)
    result.buckets += len(written)
    result.views += sum(view_totals[pk] for pk in view_totals if pk in present)


def backfill_stats(*, since: datetime | None = None) -> int:
    """Rebuilds the likes/comments/shares of the hourly buckets from the Like, Comment and Share rows.

    For data that predates :func:`~analytics.writes.record_interaction` (imports, seeds). Views are
    kept. Counts per hour become the rows created in that hour that still exist (undos disappear with
    their rows). Returns the number of buckets written.
    """
    bucket_table, post_table = PostStatsBucket._meta.db_table, Post._meta.db_table
    # Once hours have been rolled up into days (roll_up_stats), those are never rebuilt: twice counted.
    if PostStatsDay.objects.exists():
        kept = rollup_cutoff()
        if since is None or since < kept:
            since = kept
    if since is not None:
        since = from_epoch(hour_of(since))  # whole hours: each rebuilt bucket is recounted in full
    since_sql, params = ("", []) if since is None else ("WHERE created_at >= %s", [since])
    union = " UNION ALL ".join(
        f"SELECT post_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS h, "
        f"{int(kind == 'l')} AS l, {int(kind == 'c')} AS c, {int(kind == 's')} AS s "
        f"FROM {model._meta.db_table} {since_sql}"
        for kind, model in (("l", Like), ("c", Comment), ("s", Share))
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {bucket_table} SET likes = 0, comments = 0, shares = 0 "
            f"WHERE (likes <> 0 OR comments <> 0 OR shares <> 0) {'' if since is None else 'AND start >= %s'}",
            params,
        )
        cursor.execute(
            f"""
            INSERT INTO {bucket_table} AS b (post_id, author_id, start, views, likes, comments, shares)
            SELECT x.post_id, p.author_id, x.h, 0, sum(x.l), sum(x.c), sum(x.s)
            FROM ({union}) x JOIN {post_table} p ON p.id = x.post_id
            GROUP BY x.post_id, p.author_id, x.h
            ON CONFLICT (post_id, start) DO UPDATE SET
                likes = EXCLUDED.likes, comments = EXCLUDED.comments, shares = EXCLUDED.shares
            """,
            params * 3,
        )
        written = cursor.rowcount
    if not connection.in_atomic_block:
        with connection.cursor() as cursor:  # statistics and the visibility map (index-only scans) for trends
            cursor.execute(f"VACUUM (ANALYZE) {bucket_table}")
    return written


# --- roll-ups: hourly buckets into days ------------------------------------------------------
def rollup_cutoff(now: datetime | None = None) -> datetime:
    """Hours before this instant (midnight UTC, ``ANALYTICS_HOURLY_RETENTION_DAYS`` ago) are rolled up."""
    from datetime import timedelta, timezone as tz

    now = now or datetime.now(tz.utc)
    days = max(8, int(getattr(settings, "ANALYTICS_HOURLY_RETENTION_DAYS", 90)))  # trends read a week of hours
    cutoff = now - timedelta(days=days)
    return cutoff.replace(hour=0, minute=0, second=0, microsecond=0)


def roll_up_stats(*, batch_size: int = 5000, now: datetime | None = None) -> int:
    """Moves the hourly buckets older than :func:`rollup_cutoff` into :class:`PostStatsDay` rows (added to
    a day already there), ``batch_size`` buckets per transaction; returns how many buckets were moved.

    Each batch deletes its hourly rows and adds their sums to the days in ONE statement, so a count is
    moved exactly once whatever stops the job (idempotent: a second run finds nothing to move); readers
    add days to hours (analytics.reads), so totals never change. Serialised with flush_stats by the
    same advisory lock.
    """
    hourly, daily = PostStatsBucket._meta.db_table, PostStatsDay._meta.db_table
    cutoff = rollup_cutoff(now)
    moved = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key()])
        if not cursor.fetchone()[0]:
            return 0
    try:
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    WITH gone AS (
                        DELETE FROM {hourly} WHERE id IN (
                            SELECT id FROM {hourly} WHERE start < %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
                        RETURNING post_id, author_id, start, views, likes, comments, shares
                    ), days AS (
                        INSERT INTO {daily} (post_id, author_id, start, views, likes, comments, shares)
                        SELECT post_id, min(author_id), date_trunc('day', start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                               sum(views), sum(likes), sum(comments), sum(shares)
                        FROM gone GROUP BY 1, 3
                        ON CONFLICT (post_id, start) DO UPDATE SET
                            views = {daily}.views + EXCLUDED.views, likes = {daily}.likes + EXCLUDED.likes,
                            comments = {daily}.comments + EXCLUDED.comments, shares = {daily}.shares + EXCLUDED.shares
                        RETURNING 1
                    )
                    SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM days)
                    """,
                    [cutoff, batch_size],
                )
                count = cursor.fetchone()[0]
            moved += count
            if count < batch_size:
                return moved
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key()])
