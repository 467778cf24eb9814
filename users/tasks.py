"""Users' background work: housekeeping of refresh tokens (beat, every HOUSEKEEPING_SECONDS)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from common.sql import delete_in_batches
from common.tasks import task

logger = logging.getLogger(__name__)


def purge_refresh_tokens_now(*, batch: int | None = None, now=None) -> int:
    """Deletes refresh tokens that are expired (older than JWT_REFRESH_EXPIRATION_DELTA), or revoked in a
    session that has ended (a traded-in token of a live session is kept: replaying it must still end
    the session, users/sessions.py), in batches of ``batch`` rows, one short transaction each; returns
    how many. Idempotent."""
    from .models import RefreshToken

    batch = batch or settings.HOUSEKEEPING_BATCH
    cutoff = (now or timezone.now()) - settings.GRAPHQL_JWT["JWT_REFRESH_EXPIRATION_DELTA"]
    table = RefreshToken._meta.db_table
    ended = (f"revoked IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {table} live "
             f"WHERE live.session = {table}.session AND live.revoked IS NULL)")
    return delete_in_batches(table, f"created < %s OR ({ended})", [cutoff], batch=batch)


@task(name="users.purge_refresh_tokens", soft_time_limit=300, time_limit=330)
def purge_refresh_tokens() -> int:
    deleted = purge_refresh_tokens_now()
    logger.info("housekeeping: %s expired or revoked refresh tokens deleted", deleted, extra={"deleted": deleted})
    return deleted


# --- purging deleted accounts (users/purge.py) ---------------------------------------------------------
@task(name="users.purge_user", soft_time_limit=300, time_limit=330)
def purge_user(user_id: int) -> int:
    """Queued after an account's deletion commits (users.services.user_delete): batches of PURGE_BATCH rows,
    one transaction each, for at most PURGE_TASK_SECONDS, then it queues itself for the rest. Idempotent."""
    from . import purge

    done, deleted = purge.purge_user(user_id)
    logger.info("purge_user: %s rows of user %s deleted%s", deleted, user_id, "" if done else "; continuing",
                extra={"user_id": user_id, "deleted": deleted, "done": done})
    if not done:
        purge_user.delay(user_id)
    return deleted


@task(name="users.sweep_deleted_users", soft_time_limit=60, time_limit=90)
def sweep_deleted_users() -> int:
    """Beat: queues the purge again for accounts deleted more than PURGE_SWEEP_SECONDS ago and still there."""
    from . import purge

    ids = purge.deleted_users(older_than_seconds=settings.PURGE_SWEEP_SECONDS, limit=1000)
    for user_id in ids:
        purge_user.delay(user_id)
    if ids:
        logger.info("sweep: purge queued again for %s deleted users", len(ids), extra={"users": len(ids)})
    return len(ids)
