"""Interaction analytics: counts kept in Redis as they happen, folded into hourly PostgreSQL buckets.

Writes are O(1) Redis work, never SQL row locks on a hot post:

- :func:`record_views` (the ``recordPostViews`` mutation) counts impressions and adds the viewer to
  the post's HyperLogLog of unique viewers.
- :func:`record_interaction` (called by the like/comment/share services inside their transaction)
  counts a like/comment/share, or its undo, once the transaction commits.

Both land in *pending* per-hour counters in Redis. :func:`flush_stats` (``manage.py flush_stats``;
a periodic task later) folds them into :class:`~interactions.models.PostStatsBucket` rows and
``Post.view_count``. Reads (:func:`pending_views`, :func:`post_timelines`, :func:`user_totals`, ...)
add the pending counts to what PostgreSQL holds, so figures are current without waiting for the job.

Redis keys, all under ``{REDIS_KEY_PREFIX}:an:``:

``p:{post}``       hash  pending counts of one post: ``{hour}:{k}`` -> n (``hour`` = epoch seconds of
                         the UTC hour; ``k`` = v(iews) l(ikes) c(omments) s(hares)) and ``a`` -> author id
``u:{author}``     hash  the same summed over the author's posts, plus ``v`` -> all their pending views
``pv``             hash  post id -> pending views (what ``Post.viewCount`` adds to ``view_count``)
``dirty``          set   post ids that have pending counts
``hll:{post}``     HyperLogLog of the post's viewers, for its lifetime (never flushed)
``seen:{viewer}:{slot}``  set  posts whose view by this viewer was counted in this dedupe window
``flushing``       string  the batch being folded into PostgreSQL (JSON), for crash recovery

The flush never loses a count and never applies one twice: it *copies* a batch of pending counts,
adds them to PostgreSQL in one transaction and, after the commit, *subtracts* exactly the copied
amounts in one atomic Lua script. Counts that arrive meanwhile just stay pending. A crash between
the commit and the subtraction is repaired by the next flush, which asks PostgreSQL whether the
batch's transaction committed (``pg_xact_status``). Flushes are serialized by a PostgreSQL
advisory lock held for the whole run (released by PostgreSQL if the process dies).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from typing import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)

HOUR = 3600
DAY = 86400
MAX_VIEW_IDS = 100
# A request for more buckets than this is refused (a year of days fits; so do 83 days of hours).
MAX_BUCKETS = 2000
# Interaction kinds as services name them -> their one-letter field suffix.
KINDS = {"views": "v", "likes": "l", "comments": "c", "shares": "s"}


def view_dedupe_seconds() -> int:
    """A viewer's repeated views of a post count once per window of this length (0: count all)."""
    return int(getattr(settings, "ANALYTICS_VIEW_DEDUPE_SECONDS", 300))


# --- keys and the connection ----------------------------------------------------------
def _prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:an:"


def redis():
    return get_redis_connection("default")


def hll_key(post_id: int) -> str:
    return f"{_prefix()}hll:{post_id}"


def _now_ts(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt_timezone.utc)
        return now.timestamp()
    return float(now)


def to_epoch(value: datetime) -> int:
    if value.tzinfo is None:  # naive datetimes are UTC, like the database's
        value = value.replace(tzinfo=dt_timezone.utc)
    return int(value.timestamp() // 1)


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=dt_timezone.utc)


def hour_of(now: datetime | float | None = None) -> int:
    """Epoch seconds of the UTC hour containing ``now``."""
    return int(_now_ts(now) // HOUR * HOUR)


# --- recording ------------------------------------------------------------------------
# ARGV: prefix, hour, author, post, field suffix, delta
_BUMP = """
local p = ARGV[1]
local pk = p .. 'p:' .. ARGV[4]
local f = ARGV[2] .. ':' .. ARGV[5]
redis.call('HINCRBY', pk, f, ARGV[6])
redis.call('HSET', pk, 'a', ARGV[3])
redis.call('HINCRBY', p .. 'u:' .. ARGV[3], f, ARGV[6])
redis.call('SADD', p .. 'dirty', ARGV[4])
return 1
"""

# ARGV: prefix, hour, seen key ('' = no dedupe), seen ttl, viewer id, then post, author pairs.
_VIEWS = """
local p = ARGV[1]
local hf = ARGV[2] .. ':v'
local seen = ARGV[3]
local viewer = ARGV[5]
local counted = 0
for i = 6, #ARGV, 2 do
  local post = ARGV[i]
  local author = ARGV[i + 1]
  local new = 1
  if seen ~= '' then new = redis.call('SADD', seen, post) end
  if new == 1 then
    counted = counted + 1
    local pk = p .. 'p:' .. post
    redis.call('HINCRBY', pk, hf, 1)
    redis.call('HSET', pk, 'a', author)
    redis.call('HINCRBY', p .. 'pv', post, 1)
    local uk = p .. 'u:' .. author
    redis.call('HINCRBY', uk, hf, 1)
    redis.call('HINCRBY', uk, 'v', 1)
    redis.call('SADD', p .. 'dirty', post)
    redis.call('PFADD', p .. 'hll:' .. post, viewer)
  end
end
if seen ~= '' then redis.call('EXPIRE', seen, ARGV[4]) end
return counted
"""

# Subtracts a folded batch from the pending counters and forgets the batch.
# ARGV: prefix, JSON [[post, author, {field: "-n"}, "-views"], ...]  (numbers as strings: exact)
_SUBTRACT = """
local p = ARGV[1]
local batch = cjson.decode(ARGV[2])
local function dec(key, f, by)
  if redis.call('HINCRBY', key, f, by) == 0 then redis.call('HDEL', key, f) end
end
for _, item in ipairs(batch) do
  local post, author, fields, views = item[1], item[2], item[3], item[4]
  local pk = p .. 'p:' .. post
  local uk = p .. 'u:' .. author
  for f, by in pairs(fields) do
    dec(pk, f, by)
    if author ~= '' then dec(uk, f, by) end
  end
  if views ~= '0' then
    dec(p .. 'pv', post, views)
    if author ~= '' then dec(uk, 'v', views) end
  end
  local left = redis.call('HLEN', pk)
  if left == 0 or (left == 1 and redis.call('HEXISTS', pk, 'a') == 1) then
    redis.call('DEL', pk)
    redis.call('SREM', p .. 'dirty', post)
  end
end
redis.call('DEL', p .. 'flushing')
return #batch
"""

_scripts: dict[str, object] = {}


def _script(source: str):
    """A registered Lua script (EVALSHA, falling back to EVAL after a Redis restart)."""
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = redis().register_script(source)
    return script


def record_interaction(*, post_id: int, author_id: int, kind: str, delta: int = 1,
                       at: datetime | None = None) -> None:
    """Counts a like/comment/share (kind: "likes" | "comments" | "shares") in the post's hourly stats.

    Call it from a service inside the transaction; it records after commit (nothing for a rollback).
    ``delta`` is -1 for an undo. ``at`` is the hour to count it in (default: now); pass the undone
    row's ``created_at`` with an undo to take it back from the hour it was counted in.
    One Redis round trip (a Lua script of four O(1) commands), no SQL: a hot post's thousands of
    likes a second cost Redis a few microseconds each.
    """
    if kind not in ("likes", "comments", "shares"):
        raise ValueError(f"unknown interaction kind {kind!r}")
    if delta == 0:
        return
    hour = hour_of(at)

    def send():
        try:
            _script(_BUMP)(args=[_prefix(), hour, author_id, post_id, KINDS[kind], int(delta)])
        except Exception:  # noqa: BLE001 - lost analytics must never fail the write that caused them
            logger.exception("could not record %s for post %s", kind, post_id)

    transaction.on_commit(send)


def viewer_id(viewer=None, fingerprint: str | None = None) -> str:
    """How the unique-viewer HyperLogLog (and the dedupe window) identifies a viewer.

    An authenticated viewer is ``u<id>``. An anonymous one is a keyed hash of a client fingerprint
    (the GraphQL layer passes IP address + User-Agent): ``a<hash>``, so no address is stored. Without
    a fingerprint every anonymous view counts as the same viewer ``anon``.
    """
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        return f"u{viewer.pk}"
    if fingerprint:
        digest = hashlib.blake2b(fingerprint.encode(), key=settings.SECRET_KEY.encode()[:64], digest_size=12)
        return "a" + digest.hexdigest()
    return "anon"


def record_views(viewer, post_ids: Iterable[int], *, fingerprint: str | None = None,
                 now: datetime | float | None = None) -> int:
    """Counts that ``viewer`` (a user, or None for anonymous) saw these posts; returns how many counted.

    - At most :data:`MAX_VIEW_IDS` ids (a ValidationError on ``post_ids`` otherwise); repeated ids
      in one call count once.
    - Ids of posts that do not exist are not counted; neither is an author viewing their own post.
    - The same viewer's views of the same post count once per dedupe window
      (:func:`view_dedupe_seconds`, 5 minutes by default; windows are aligned to the clock).
    - Every counted view adds the viewer to the post's HyperLogLog of unique viewers.

    Cost: one indexed SQL query (which posts exist, and their authors) and one Redis round trip.
    """
    from feed.models import Post

    ids = list(dict.fromkeys(int(pk) for pk in post_ids))
    if len(ids) > MAX_VIEW_IDS:
        raise ValidationError({"post_ids": ValidationError(
            f"At most {MAX_VIEW_IDS} posts at once.", code="too_many")})
    if not ids:
        return 0
    authors = dict(Post.objects.filter(pk__in=ids).values_list("pk", "author_id"))
    me = viewer.pk if viewer is not None and getattr(viewer, "is_authenticated", False) else None
    pairs = [(pk, authors[pk]) for pk in ids if pk in authors and authors[pk] != me]
    if not pairs:
        return 0
    ts = _now_ts(now)
    who = viewer_id(viewer, fingerprint)
    window = view_dedupe_seconds()
    if window > 0:
        slot = int(ts // window)
        seen, ttl = f"{_prefix()}seen:{who}:{slot}", int((slot + 1) * window - ts) + 1
    else:
        seen, ttl = "", 0
    args = [_prefix(), hour_of(ts), seen, ttl, who]
    for pk, author in pairs:
        args += [pk, author]
    return int(_script(_VIEWS)(args=args))


# --- reading pending counts -----------------------------------------------------------
def pending_views(post_ids: Sequence[int]) -> list[int]:
    """Views of each post not yet folded into ``Post.view_count``: one HMGET, no SQL."""
    if not post_ids:
        return []
    values = redis().hmget(f"{_prefix()}pv", list(post_ids))
    return [int(v) if v is not None else 0 for v in values]


def unique_viewers(post_ids: Sequence[int]) -> list[int]:
    """HyperLogLog estimates of each post's distinct viewers (standard error 0.81%): one round trip."""
    if not post_ids:
        return []
    pipe = redis().pipeline(transaction=False)
    for pk in post_ids:
        pipe.pfcount(hll_key(pk))
    return [int(n) for n in pipe.execute()]


def _parse_pending(raw: dict) -> dict[int, dict[str, int]]:
    """A pending hash -> {hour: {kind letter: n}} (the author field and totals skipped)."""
    hours: dict[int, dict[str, int]] = {}
    for key, value in raw.items():
        key = key.decode() if isinstance(key, bytes) else key
        hour, sep, kind = key.partition(":")
        if not sep:
            continue
        hours.setdefault(int(hour), {})[kind] = int(value)
    return hours


def _pending_hashes(keys: Sequence[str]) -> list[dict]:
    if not keys:
        return []
    pipe = redis().pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    return pipe.execute()


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
    end = to_epoch(until) if until is not None else int(_now_ts(now))
    last = (end - 1) // size * size  # the last bucket starting before `until`
    if since is not None:
        first = to_epoch(since) // size * size
        if to_epoch(since) > end:
            raise AnalyticsInputError("`since` must not be after `until`.", "since")
    else:
        first = min(to_epoch(default_since) // size * size, last)
        first = max(first, last - (MAX_BUCKETS - 1) * size)
    span = Span(size, first, last)
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
    from .models import PostStatsBucket

    return (
        f"SELECT {group}, (floor(extract(epoch FROM start) / %s) * %s)::bigint AS b, "
        f"sum(views), sum(likes), sum(comments), sum(shares) "
        f"FROM {PostStatsBucket._meta.db_table} WHERE {where} AND start >= %s AND start < %s GROUP BY 1, 2"
    )


def post_timelines(requests: Sequence[tuple[int, Span]]) -> list[list[Bucket]]:
    """Timelines of several posts, each ``(post_id, span)``: one SQL query per bucket size, one Redis round trip."""
    results: list[list[Bucket] | None] = [None] * len(requests)
    by_size: dict[int, list[int]] = {}
    for i, (_, span) in enumerate(requests):
        by_size.setdefault(span.size, []).append(i)
    post_ids = sorted({pk for pk, _ in requests})
    pending = dict(zip(post_ids, (_parse_pending(h) for h in _pending_hashes(
        [f"{_prefix()}p:{pk}" for pk in post_ids]))))
    for size, indexes in by_size.items():
        spans = [requests[i][1] for i in indexes]
        ids = sorted({requests[i][0] for i in indexes})
        lo, hi = min(s.first for s in spans), max(s.end for s in spans)
        rows: dict[int, dict[int, list[int]]] = {}
        if hi > lo:
            with connection.cursor() as cursor:
                cursor.execute(_bucket_sql("post_id = ANY(%s)", "post_id"),
                               [size, size, ids, from_epoch(lo), from_epoch(hi)])
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
                           [span.size, span.size, author_id, from_epoch(span.first), from_epoch(span.end)])
            for _, start, *counts in cursor.fetchall():
                found[start] = [int(c) for c in counts]
    raw = redis().hgetall(f"{_prefix()}u:{author_id}")
    _add_pending(found, _parse_pending(raw), span)
    return _fill(span, found)


@dataclass
class UserTotals:
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0


def user_totals(author_ids: Sequence[int]) -> list[UserTotals]:
    """What each author's posts received: the posts' exact counters plus views still pending in Redis."""
    from feed.models import Post

    if not author_ids:
        return []
    totals = {pk: UserTotals() for pk in author_ids}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT author_id, coalesce(sum(view_count), 0), coalesce(sum(like_count), 0), "
            f"coalesce(sum(comment_count), 0), coalesce(sum(share_count), 0) "
            f"FROM {Post._meta.db_table} WHERE author_id = ANY(%s) GROUP BY author_id",
            [list(author_ids)],
        )
        for author_id, views, likes, comments, shares in cursor.fetchall():
            totals[author_id] = UserTotals(int(views), int(likes), int(comments), int(shares))
    pipe = redis().pipeline(transaction=False)
    for pk in author_ids:
        pipe.hget(f"{_prefix()}u:{pk}", "v")
    for pk, pending in zip(author_ids, pipe.execute()):
        totals[pk].views += int(pending or 0)
    return [totals[pk] for pk in author_ids]


def top_posts(author_id: int, first: int):
    """The author's posts with the most engagement (likes + comments + shares), then newest first."""
    from django.db.models import F

    from feed.models import Post

    return list(
        Post.objects.filter(author_id=author_id)
        .defer("search_vector")
        .select_related("author")
        .order_by((F("like_count") + F("comment_count") + F("share_count")).desc(), F("created_at").desc(),
                  F("id").desc())[:first]
    )


# --- the flush ------------------------------------------------------------------------
@dataclass
class FlushResult:
    posts: int = 0
    buckets: int = 0
    views: int = 0
    batches: int = 0
    recovered: bool = False
    skipped: bool = False
    missing_posts: list[int] = field(default_factory=list)


def _lock_key() -> int:
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
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key()])
        if not cursor.fetchone()[0]:
            result.skipped = True
            return result
    try:
        if not _recover(result):
            result.skipped = True
            return result
        dirty = sorted(int(pk) for pk in redis().sscan_iter(f"{_prefix()}dirty", count=1000))
        for start in range(0, len(dirty), batch_size):
            _flush_batch(dirty[start:start + batch_size], result)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key()])
    return result


def _recover(result: FlushResult) -> bool:
    """Finishes a batch a crashed flush left behind. False when it can't be decided yet."""
    raw = redis().get(f"{_prefix()}flushing")
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
        redis().delete(f"{_prefix()}flushing")  # nothing was applied; the counts are still pending
        return True
    if status is None:
        logger.warning("flush_stats: batch %s too old to verify; assuming it committed", batch["xid"])
    _script(_SUBTRACT)(args=[_prefix(), json.dumps(batch["items"])])
    result.recovered = True
    return True


def _flush_batch(post_ids: list[int], result: FlushResult) -> None:
    from feed.models import Post

    from .models import PostStatsBucket

    hashes = _pending_hashes([f"{_prefix()}p:{pk}" for pk in post_ids])
    items = []  # for the Lua subtraction
    b_post, b_start, b_v, b_l, b_c, b_s = [], [], [], [], [], []
    view_totals: dict[int, int] = {}
    for post_id, raw in zip(post_ids, hashes):
        if not raw:
            continue
        raw = {k.decode(): int(v) for k, v in raw.items()}
        author = str(raw.pop("a", ""))
        fields = {f: str(-n) for f, n in raw.items()}  # zeros too: the script deletes them
        hours = _parse_pending(raw)
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
                JOIN {post_table} p ON p.id = v.post_id
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
        redis().set(f"{_prefix()}flushing", json.dumps({"xid": xid, "items": items}))
    _script(_SUBTRACT)(args=[_prefix(), json.dumps(items)])
    present = set(written)
    missing = sorted({pk for pk in b_post if pk not in present})
    if missing:  # deleted since: their counts are dropped, and so is their HyperLogLog
        redis().delete(*[hll_key(pk) for pk in missing])
        result.missing_posts += missing
    result.batches += 1
    result.posts += len(items)
    result.buckets += len(written)
    result.views += sum(view_totals[pk] for pk in view_totals if pk in present)


def backfill_stats(*, since: datetime | None = None) -> int:
    """Rebuilds the likes/comments/shares of the hourly buckets from the Like, Comment and Share rows.

    For data that predates :func:`record_interaction` (imports, seeds). Views are kept. Counts per
    hour become the rows created in that hour that still exist (undos disappear with their rows).
    Returns the number of buckets written.
    """
    from feed.models import Post

    from .models import Comment, Like, PostStatsBucket, Share

    bucket_table, post_table = PostStatsBucket._meta.db_table, Post._meta.db_table
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
