"""feed's background work: purging deleted posts (feed/purge.py).

- :func:`purge_post` — queued after a post's deletion commits (feed.services.post_delete): batches of
  PURGE_BATCH rows, one transaction each, for at most PURGE_TASK_SECONDS, then it queues itself for the
  rest (no run nears its time limit, however big the post). Idempotent: a repeated or replayed message
  finds less, or nothing, to do.
- :func:`sweep_deleted_posts` — beat (every HOUSEKEEPING_SECONDS): queues the purge again for posts
  deleted more than PURGE_SWEEP_SECONDS ago and still there (a message lost with a broker that was
  down at the deletion's commit, or parked in the dead-letter queue).
"""

from __future__ import annotations

import logging

from django.conf import settings

from common.tasks import task

from . import purge

logger = logging.getLogger(__name__)


@task(name="feed.purge_post", soft_time_limit=300, time_limit=330)
def purge_post(post_id: int) -> int:
    done, deleted = purge.purge_post(post_id)
    logger.info("purge_post: %s rows of post %s deleted%s", deleted, post_id, "" if done else "; continuing",
                extra={"post_id": post_id, "deleted": deleted, "done": done})
    if not done:
        purge_post.delay(post_id)
    return deleted


@task(name="feed.sweep_deleted_posts", soft_time_limit=60, time_limit=90)
def sweep_deleted_posts() -> int:
    ids = purge.hidden_posts(older_than_seconds=settings.PURGE_SWEEP_SECONDS, limit=1000)
    for post_id in ids:
        purge_post.delay(post_id)
    if ids:
        logger.info("sweep: purge queued again for %s deleted posts", len(ids), extra={"posts": len(ids)})
    return len(ids)
