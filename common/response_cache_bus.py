"""The content generation of the GraphQL response cache (schema/core/response_cache.py), in Redis.

The response cache keeps answers that do not depend on the viewer. Each entry records the *content
generation* it was computed at; an entry whose generation is not the current one is never served. The
apps end a generation (:func:`content_changed`) after a commit that changes what anonymous readers see
and must see at once: a post edited or deleted, a comment edited or deleted, an account deactivated,
deleted, purged or its profile edited. One ``INCR`` in Redis, shared by every process, so no process
serves an entry computed before the change once the writer's commit has returned.

What may lag (counters: likes, comments, shares, followers; new posts, comments and shares appearing in
lists) ends no generation: an entry is recomputed ``RESPONSE_CACHE_MAX_STALENESS`` seconds after it was
made (schema/core/response_cache.py).

Who ends a generation: :func:`common.events.publish` for the kinds in :data:`CONTENT_KINDS` and for
events published with ``content=True`` (a post's edit, a comment's deletion); the model receivers of
users and feed (profile and admin edits); interactions' comment edit; the user purge, per batch.

The generation is ``max(previous + 1, now in microseconds)``: when Redis loses the key (a flush, a
restart), the new value is still larger than any generation a process's memory layer holds.
Key: ``{REDIS_KEY_PREFIX}:1:rc:gen`` (the cache's key space). This module knows nothing of GraphQL.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

logger = logging.getLogger("common.response_cache")

# Event kinds that change what anonymous readers see and must see at once (common/events.py).
CONTENT_KINDS = frozenset({"post_deleted", "user_deactivated"})

# INCR, but never below ARGV[1] (now in µs): a lost key restarts above every generation handed out before.
_BUMP = """
local v = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if v < floor then
  redis.call('SET', KEYS[1], ARGV[1])
  v = floor
end
return v
"""
# The current generation; a missing key is started at now (µs).
_CURRENT = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  v = redis.call('GET', KEYS[1])
end
return tonumber(v)
"""

_scripts: dict = {}


def redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def script(source: str):
    found = _scripts.get(source)
    if found is None:
        found = _scripts[source] = redis().register_script(source)
    return found


def generation_key() -> str:
    return cache.make_key("rc:gen")


def _now_us() -> int:
    return int(time.time() * 1_000_000)


def bump() -> int | None:
    """Ends the current generation now; the new one, or None when Redis did not answer (logged)."""
    try:
        return int(script(_BUMP)(keys=[generation_key()], args=[_now_us()]))
    except RedisError:
        logger.error("response cache: could not end the content generation (Redis unavailable)", exc_info=True)
        return None


def current() -> int:
    """The current generation (started when missing). Raises RedisError when Redis does not answer."""
    return int(script(_CURRENT)(keys=[generation_key()], args=[_now_us()]))


def content_changed() -> None:
    """Ends the content generation once the current transaction commits (at once outside one); nothing
    happens if it rolls back."""
    transaction.on_commit(bump)


def event_changes_content(kind: str, data: dict) -> bool:
    """Whether a domain event (common/events.py) must end the generation."""
    return kind in CONTENT_KINDS or bool(data.get("content"))
