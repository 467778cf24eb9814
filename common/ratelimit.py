"""Rate limits in Redis, shared by every process: point budgets over fixed windows, and concurrency caps.

- :func:`charge` (one Lua script, atomic): adds ``cost`` points to a counter that lives one window
  (it starts at the first charge and expires ``window`` seconds later, GitHub's ``resetAt``). A
  charge that does not fit what is left is refused and changes nothing; ``force=True`` adds anyway
  (for work already done, e.g. subscription events) and says whether the budget still holds.
- :func:`acquire` / :func:`release`: a cap on things running at once per caller (a sorted set of
  tokens scored by their deadline, so a process that dies holding a slot frees it at the deadline).
  :func:`charge_and_acquire` does both in one round trip (a request that will run).

The charges and the release run on the thread's own Redis connection (common/redis_calls.py).
Keys: ``{REDIS_KEY_PREFIX}:1:rl:<name>:<caller>`` (the cache's key space, so tests' cleanup clears them).
A caller is ``u:<user id>`` or ``a:<client address>`` (:func:`caller`). When Redis does not answer the
limits let requests through (logged): a rate limit must not turn a Redis fault into an outage.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from . import redis_calls

logger = logging.getLogger("common.ratelimit")

_CHARGE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
local window = tonumber(ARGV[3])
if ttl < 0 then
  ttl = window
  if used > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if cost > 0 and ARGV[4] ~= '1' and used + cost > limit then
  return {0, used, ttl}
end
if cost > 0 then
  used = redis.call('INCRBY', KEYS[1], cost)
  if used == cost then redis.call('PEXPIRE', KEYS[1], ttl) end
end
if used > limit then return {0, used, ttl} end
return {1, used, ttl}
"""

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""

# _CHARGE, then (when the charge is allowed) _ACQUIRE on a second key: one round trip for a request that will
# run. KEYS: the budget, the slots. ARGV: cost, limit, window ms, force, now, slot deadline, cap, token, slot ms.
_CHARGE_ACQUIRE = _CHARGE.replace("return {0, used, ttl}", "return {0, used, ttl, -1}").replace(
    "return {1, used, ttl}", """redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[7]) then return {1, used, ttl, 0} end
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[9])
return {1, used, ttl, 1}""")

# _CHARGE, then a GET of KEYS[2] whatever the charge's outcome (a value the request needs next: one round trip).
_CHARGE_READ = _CHARGE.replace("return {0, used, ttl}", "return {0, used, ttl, redis.call('GET', KEYS[2])}").replace(
    "return {1, used, ttl}", "return {1, used, ttl, redis.call('GET', KEYS[2])}")

_scripts: dict = {}


def _redis():
    return get_redis_connection("default")


def _script(source: str):
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = _redis().register_script(source)
    return script


def key(name: str, who: str) -> str:
    return cache.make_key(f"rl:{name}:{who}")


def caller(user_id: int | None, address: str | None) -> str:
    """Whose budget: the user's when logged in, else the client address's."""
    return f"u:{user_id}" if user_id is not None else f"a:{address or 'unknown'}"


def client_address(context) -> str:
    """The client's address: :func:`common.client_address.client_address` (the one rule) of a Django
    request or a websocket's SocketContext.

    Under daphne the peer is the ASGI scope's client, which ``--proxy-headers`` (the image and compose run
    it so) takes from the first ``X-Forwarded-For`` entry: the proxy in front must overwrite that
    header with the address it sees (tools/docker/nginx.conf does), never append to what the client sent.
    Without ``--proxy-headers``, ``TRUSTED_PROXIES`` names the proxies whose header is believed.
    """
    from .client_address import client_address as address_of

    return address_of(context)


@dataclass(frozen=True)
class Budget:
    """A caller's budget after a charge: whether it was allowed, the limit, points used, when it resets."""

    allowed: bool
    limit: int
    used: int
    reset_at: float  # epoch seconds
    cost: int = 0
    read: Any = None  # the value of charge(read=key), None when missing or not asked for

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window resets (at least 1)."""
        return max(1, math.ceil(self.reset_at - time.time()))


def charge(name: str, who: str, cost: int, *, limit: int, window: int, force: bool = False,
           read: str | None = None) -> Budget:
    """Charges ``cost`` points to ``who``'s ``name`` budget of ``limit`` points per ``window`` seconds.

    ``cost=0`` only reads the budget. Refused charges change nothing (unless ``force``). ``read``: a Redis
    key whose value comes back as ``Budget.read``, in the same round trip.
    """
    now = time.time()
    try:
        if read is None:
            allowed, used, ttl_ms = redis_calls.evalsha(_redis(), _script(_CHARGE), [key(name, who)],
                                                        [int(cost), int(limit), int(window * 1000), int(force)])
            value = None
        else:
            allowed, used, ttl_ms, value = redis_calls.evalsha(
                _redis(), _script(_CHARGE_READ), [key(name, who), read],
                [int(cost), int(limit), int(window * 1000), int(force)])
    except RedisError:
        logger.warning("rate limit %s: Redis unavailable; not limiting", name, exc_info=True)
        return Budget(True, limit, 0, now + window, cost)
    return Budget(bool(allowed), limit, int(used), now + int(ttl_ms) / 1000, cost, value)


def charge_and_acquire(name: str, who: str, cost: int, *, limit: int, window: int, slots: str, cap: int,
                       hold_seconds: float = 60.0) -> tuple[Budget, str | None]:
    """:func:`charge`, then — if the charge is allowed — :func:`acquire` of one of ``cap`` ``slots``, in one
    round trip. The budget, and the slot's token (None when the charge was refused or every slot is taken)."""
    token = uuid.uuid4().hex
    now = time.time()
    try:
        allowed, used, ttl_ms, taken = redis_calls.evalsha(
            _redis(), _script(_CHARGE_ACQUIRE), [key(name, who), key(slots, who)],
            [int(cost), int(limit), int(window * 1000), 0, now, now + hold_seconds, int(cap), token,
             int(hold_seconds * 1000) + 1000])
    except RedisError:
        logger.warning("rate limit %s: Redis unavailable; not limiting", name, exc_info=True)
        return Budget(True, limit, 0, now + window, cost), token
    return Budget(bool(allowed), limit, int(used), now + int(ttl_ms) / 1000, cost), token if taken == 1 else None


def acquire(name: str, who: str, cap: int, *, hold_seconds: float = 60.0) -> str | None:
    """Takes one of ``cap`` slots of ``who``; a token for :func:`release`, or None when all are taken."""
    token = uuid.uuid4().hex
    now = time.time()
    try:
        taken = _script(_ACQUIRE)(keys=[key(name, who)],
                                  args=[now, now + hold_seconds, int(cap), token, int(hold_seconds * 1000) + 1000])
    except RedisError:
        logger.warning("concurrency limit %s: Redis unavailable; not limiting", name, exc_info=True)
        return token
    return token if taken else None


def release(name: str, who: str, token: str) -> None:
    try:
        redis_calls.command(_redis(), "ZREM", key(name, who), token)
    except RedisError:
        logger.warning("concurrency limit %s: Redis unavailable; the slot frees itself", name, exc_info=True)
