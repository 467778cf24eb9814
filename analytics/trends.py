"""Trending posts and hashtags, computed from the hourly buckets and cached in Redis.

Posts: the score of a post in a window (HOUR, DAY or WEEK) is

    score = sum over the post's interactions in the window of  weight(kind) * 0.5 ** (age / half_life)

with weight(like) = 1, weight(comment) = 2, weight(share) = 3, ``age`` the time since the
interaction and ``half_life`` a quarter of the window (15 minutes, 6 hours, 42 hours): an
interaction at the start of the window counts 1/16 of one made now. Views are not counted (they
are cheap to fake). Interactions are read from the hourly :class:`~analytics.models.PostStatsBucket`
rows (pre-aggregated: a post liked 10,000 times in an hour is one row, not 10,000), each hour's
interactions taken as spread evenly over it: a bucket counts with the part of it inside the window,
at the age of the middle of that part. Undos are negative interactions in their hour.

Hashtags: the number of posts created in the window that carry the tag (``PostHashtag``), ties by tag.

Both lists (the top :data:`TOP_N`) are cached in Redis and recomputed at most every
:data:`FRESH_SECONDS`. When an entry is stale, one request (a Redis lock) queues its recomputation
(the Celery task :func:`analytics.tasks.refresh_trend`) while every request keeps answering with the
stale entry; when there is no entry at all, one request computes it and the others wait for that
result instead of repeating the work. :func:`refresh_trends` recomputes all of them (the task
``analytics.flush_stats`` calls it every minute after the flush), so requests normally never wait.

Redis unreachable: the lists are computed from PostgreSQL and kept in the process's memory for
:data:`FRESH_SECONDS` (one computation per list per process at a time), so trends keep answering.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable

from django.conf import settings
from django.db import connection, transaction
from redis.exceptions import LockError

from common.metrics import count_cache
from feed.models import Post, PostHashtag

from .hours import HOUR, from_epoch
from .keys import REDIS_DOWN, redis, trend_key
from .models import PostStatsBucket

logger = logging.getLogger(__name__)

WINDOWS = {"HOUR": 3600, "DAY": 86400, "WEEK": 7 * 86400}
HALF_LIVES = {name: seconds / 4 for name, seconds in WINDOWS.items()}
WEIGHTS = {"likes": 1.0, "comments": 2.0, "shares": 3.0}
TOP_N = 100
FRESH_SECONDS = 60
STALE_SECONDS = 15 * 60
LOCK_SECONDS = 30
WAIT_SECONDS = 5


def _key(kind: str, window: str) -> str:
    return trend_key(kind, window)


def _check(window: str) -> str:
    if window not in WINDOWS:
        raise ValueError(f"unknown trend window {window!r}")
    return window


# --- the computations (uncached) ---------------------------------------------------------
def hour_factors(window: str, now: float) -> list[tuple[int, float]]:
    """``(hour start, factor)`` of every hour overlapping the window: the part of the hour inside the
    window (the current hour counts whole: its interactions so far are all inside) times the decay at
    the middle of that part."""
    span, half_life = WINDOWS[_check(window)], HALF_LIVES[window]
    since = now - span
    factors = []
    hour = int(since // HOUR * HOUR)
    while hour < now:
        lo, hi = max(hour, since), min(hour + HOUR, now)
        if hi > lo:
            inside = (hi - lo) / min(HOUR, now - hour)
            factors.append((hour, inside * 0.5 ** ((now - (lo + hi) / 2) / half_life)))
        hour += HOUR
    return factors


def compute_post_scores(window: str, *, now: float | None = None, limit: int = TOP_N) -> list[tuple[int, float]]:
    """``(post_id, score)`` of the top posts of the window, best first (ties: newer post first).

    One index-only scan of the window's hours (``poststats_trend_idx``, which leaves out buckets with
    views only), joined to the ~170 per-hour factors computed here, summed per post.
    """
    now = time.time() if now is None else now
    factors = hour_factors(window, now)
    if not factors:
        return []
    starts = [from_epoch(hour) for hour, _ in factors]
    sql = f"""
        SELECT b.post_id, sum((b.likes * %s::float8 + b.comments * %s::float8 + b.shares * %s::float8) * h.f) AS score
        FROM {PostStatsBucket._meta.db_table} b
        JOIN unnest(%s::timestamptz[], %s::float8[]) AS h(start, f) ON b.start = h.start
        WHERE b.start >= %s AND b.start <= %s
          AND (NOT (b.likes = 0) OR NOT (b.comments = 0) OR NOT (b.shares = 0))
        GROUP BY b.post_id
        ORDER BY score DESC, b.post_id DESC
        LIMIT %s
    """
    params = [WEIGHTS["likes"], WEIGHTS["comments"], WEIGHTS["shares"], starts, [f for _, f in factors],
              starts[0], starts[-1], limit]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")  # the per-post aggregate stays in memory
        cursor.execute(sql, params)
        return [(int(pk), float(score)) for pk, score in cursor.fetchall() if score > 0]


def compute_hashtag_counts(window: str, *, now: float | None = None, limit: int = TOP_N) -> list[tuple[str, int]]:
    """``(tag, posts)`` of the tags on the most posts created in the window, most first (ties: by tag)."""
    now = time.time() if now is None else now
    since = now - WINDOWS[_check(window)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT tag, count(*) FROM {PostHashtag._meta.db_table}
            WHERE created_at >= to_timestamp(%s) AND created_at <= to_timestamp(%s)
            GROUP BY tag ORDER BY count(*) DESC, tag LIMIT %s
            """,
            [float(since), float(now), limit],
        )
        return [(tag, int(n)) for tag, n in cursor.fetchall()]


# --- the cache --------------------------------------------------------------------------
def _store(key: str, items: list) -> list:
    redis().set(key, json.dumps({"at": time.time(), "items": items}), ex=STALE_SECONDS)
    return items


def _read(key: str) -> tuple[list | None, bool]:
    raw = redis().get(key)
    if raw is None:
        return None, False
    entry = json.loads(raw)
    return entry["items"], time.time() - entry["at"] < FRESH_SECONDS


def background_refresh() -> bool:
    """Whether a stale entry is recomputed by a worker (the request answers at once with the stale
    list) rather than by the request that noticed it."""
    return bool(getattr(settings, "TRENDS_BACKGROUND_REFRESH", True))


def _release(lock) -> None:
    try:
        lock.release()
    except LockError:  # it expired while we computed: harmless
        pass


def _refresh(key: str, compute: Callable[[], list], lock) -> list:
    try:
        items, fresh = _read(key)  # someone may have just done it
        if fresh:
            return items
        return _store(key, compute())
    finally:
        _release(lock)


def _refresh_in_background(kind: str, window: str, lock) -> bool:
    """Queues :func:`analytics.tasks.refresh_trend` (the worker recomputes the list and releases the
    lock); False when the broker cannot take it (the caller then refreshes it itself)."""
    token = lock.local.token
    try:
        _queue_refresh(kind, window, token.decode() if isinstance(token, bytes) else token)
    except Exception:  # noqa: BLE001 - the broker is down: never fail the request for it
        logger.exception("trends: could not queue the refresh of %s:%s", kind, window)
        return False
    return True


def _queue_refresh(kind: str, window: str, lock_token: str) -> None:
    from celery import current_app  # by name: analytics.tasks imports this module

    current_app.send_task("analytics.refresh_trend", args=[kind, window], kwargs={"lock_token": lock_token})


def refresh_one(kind: str, window: str, *, lock_token: str | None = None) -> list:
    """Recomputes one cached list now (the task); releases the request's lock when given its token."""
    compute = {"posts": compute_post_scores, "tags": compute_hashtag_counts}[kind]
    key = _key(kind, _check(window))
    try:
        return _store(key, compute(window))
    finally:
        if lock_token:
            lock = redis().lock(f"{key}:lock", timeout=LOCK_SECONDS, thread_local=False)
            lock.local.token = lock_token.encode()
            _release(lock)


def cached(key: str, compute: Callable[[], list], *, kind: str | None = None, window: str | None = None) -> list:
    """``compute()``'s result, cached for :data:`FRESH_SECONDS`, computed by one caller at a time (in Redis;
    in this process's memory while Redis is unreachable)."""
    try:
        return _cached_in_redis(key, compute, kind=kind, window=window)
    except REDIS_DOWN as error:
        logger.warning("trends: Redis unavailable, %s computed from PostgreSQL in this process: %s", key, error)
        return _cached_in_process(key, compute)


_local: dict[str, tuple[float, list]] = {}
_local_lock = threading.Lock()


def _cached_in_process(key: str, compute: Callable[[], list]) -> list:
    entry = _local.get(key)
    if entry is not None and time.time() - entry[0] < FRESH_SECONDS:
        return entry[1]
    with _local_lock:  # one computation at a time in this process; the others then read its result
        entry = _local.get(key)
        if entry is not None and time.time() - entry[0] < FRESH_SECONDS:
            return entry[1]
        items = compute()
        _local[key] = (time.time(), items)
        return items


def _cached_in_redis(key: str, compute: Callable[[], list], *, kind: str | None, window: str | None) -> list:
    items, fresh = _read(key)
    count_cache("trends", fresh)
    if fresh:
        return items
    # thread_local=False: the worker releases it after a background refresh.
    lock = redis().lock(f"{key}:lock", timeout=LOCK_SECONDS, sleep=0.01, blocking_timeout=WAIT_SECONDS,
                        thread_local=False)
    if items is not None:
        # Stale: one caller has it refreshed; everyone else answers at once with the stale list.
        if not lock.acquire(blocking=False):
            return items
        if background_refresh() and kind is not None and _refresh_in_background(kind, window, lock):
            return items
        return _refresh(key, compute, lock)
    # Nothing cached: one caller computes, the others wait for its result.
    if not lock.acquire():
        logger.warning("trends: waited %ss for %s; computing without the lock", WAIT_SECONDS, key)
        return compute()
    return _refresh(key, compute, lock)


def trending_post_ids(window: str = "DAY") -> list[tuple[int, float]]:
    """The cached top posts of the window: ``(post_id, score)``, best first."""
    return [tuple(item) for item in cached(_key("posts", _check(window)),
                                           lambda: compute_post_scores(window), kind="posts", window=window)]


def trending_posts(window: str = "DAY", first: int = 20) -> list:
    """The ``first`` (at most :data:`TOP_N`) trending posts of the window: one cache read and one SQL query."""
    ids = [pk for pk, _ in trending_post_ids(window)[: max(0, min(first, TOP_N))]]
    if not ids:
        return []
    posts = Post.objects.select_related("author").in_bulk(ids)
    return [posts[pk] for pk in ids if pk in posts]  # a post deleted since is left out


def trending_hashtags(window: str = "DAY", first: int = 20) -> list[tuple[str, int]]:
    """The ``first`` (at most :data:`TOP_N`) trending hashtags of the window: ``(tag, posts)``."""
    items = cached(_key("tags", _check(window)), lambda: compute_hashtag_counts(window), kind="tags", window=window)
    return [(tag, n) for tag, n in items[: max(0, min(first, TOP_N))]]


def refresh_trends() -> dict[str, float]:
    """Recomputes every cached trend list now (for the periodic job); returns the seconds each took."""
    timings = {}
    for window in WINDOWS:
        for kind, compute in (("posts", compute_post_scores), ("tags", compute_hashtag_counts)):
            started = time.perf_counter()
            _store(_key(kind, window), compute(window))
            timings[f"{kind}:{window}"] = time.perf_counter() - started
    return timings


def clear_trends() -> None:
    """Forgets every cached trend list (the next request recomputes)."""
    redis().delete(*[_key(kind, window) for kind in ("posts", "tags") for window in WINDOWS])
