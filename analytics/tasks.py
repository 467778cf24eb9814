"""Analytics background work (Celery; common.tasks gives every task acks_late, retries with back-off,
time limits and the dead-letter queue).

- :func:`flush_stats` — every minute (beat, ``ANALYTICS_FLUSH_SECONDS``): pending Redis counts into the
  hourly PostStatsBucket rows and ``Post.view_count`` (analytics.jobs.flush_stats: lock-protected, never
  applies a count twice, repairs an interrupted batch), then every trend list is recomputed. Idempotent:
  a second run right after finds nothing pending.
- :func:`roll_up_stats` — beat (every ``HOUSEKEEPING_SECONDS``): hourly buckets older than
  ``ANALYTICS_HOURLY_RETENTION_DAYS`` into daily rows (analytics.jobs.roll_up_stats: each batch moves its
  counts in one statement, so exactly once).
- :func:`refresh_trend` — one stale trend list, queued by a request that found it stale (the request
  answers at once with the stale list; this replaced the request-time background thread).
"""

from __future__ import annotations

import logging

from common.tasks import task

logger = logging.getLogger(__name__)


@task(name="analytics.flush_stats", soft_time_limit=240, time_limit=300)
def flush_stats(batch_size: int = 500) -> dict:
    from . import jobs, trends

    result = jobs.flush_stats(batch_size=batch_size)
    if result.skipped:
        logger.info("flush_stats: another flush is running; nothing done")
        return {"skipped": True}
    timings = trends.refresh_trends()
    logger.info("flush_stats: %s posts, %s buckets, %s views in %s batches; trends refreshed",
                result.posts, result.buckets, result.views, result.batches,
                extra={"posts": result.posts, "buckets": result.buckets, "views": result.views,
                       "recovered": result.recovered,
                       "trends_ms": round(sum(timings.values()) * 1000, 1)})
    return {"posts": result.posts, "buckets": result.buckets, "views": result.views}


@task(name="analytics.refresh_trend", soft_time_limit=60, time_limit=90)
def refresh_trend(kind: str, window: str, lock_token: str | None = None) -> None:
    from . import trends

    trends.refresh_one(kind, window, lock_token=lock_token)


@task(name="analytics.roll_up_stats", soft_time_limit=600, time_limit=660)
def roll_up_stats() -> int:
    from . import jobs

    moved = jobs.roll_up_stats()
    logger.info("roll_up_stats: %s hourly buckets rolled up into days", moved, extra={"buckets": moved})
    return moved
