"""Abuse limits on getting in: failed logins (per account, per address) and registrations (per address).

Failed logins, counted per account and per client address, in Redis hashes under
``{REDIS_KEY_PREFIX}:auth:``:

- The first ``LOGIN_FAILURES_FREE_PER_ACCOUNT`` (5) failures of an account cost nothing; after the n-th
  failure beyond that the next attempt must wait ``LOGIN_BACKOFF_BASE_SECONDS * 2**(n - free)``
  seconds, at most ``LOGIN_BACKOFF_MAX_SECONDS`` (15 minutes): 1, 2, 4, ... s. An attacker gets 10
  guesses in the first minute, then ever fewer (4 an hour at the cap); the owner is never locked out
  for longer than the cap, and a success clears the account's count.
- Per address the same, with a larger allowance (``LOGIN_FAILURES_FREE_PER_ADDRESS``, 20): one
  address guessing many accounts is slowed down too. A success does not clear it (an attacker could
  log into an account of their own to reset it); it only gives back the attempt it reserved.
- Failures are forgotten ``LOGIN_FAILURES_FORGOTTEN_SECONDS`` (1 hour) after the last one.

Atomic and safe across processes: one Lua script checks both waits and, when the attempt may go on,
counts it as a failure *before* the password is checked (so 100 concurrent guesses cannot all pass the
check first); a success then takes it back. A refused attempt never reaches the password hasher and
is not counted. Registrations: at most ``REGISTRATIONS_PER_ADDRESS`` attempts per address per
``REGISTRATION_WINDOW_SECONDS`` (a fixed window).

If Redis is unreachable the limits are not applied (logged): logging in must not depend on it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django_redis import get_redis_connection

from common.client_address import address_bucket

logger = logging.getLogger(__name__)


class Throttled(Exception):
    """Refused for now; ``retry_after``: whole seconds until an attempt may go on."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, int(retry_after))


def _prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:auth:"


def _account_key(username: str) -> str:
    # Any string may be typed as a username: hashed, so keys stay small; the same for every spelling case.
    digest = hashlib.blake2b(username.strip().casefold().encode("utf-8", "surrogatepass"), digest_size=16)
    return f"{_prefix()}fail:u:{digest.hexdigest()}"


def _address_key(address: str) -> str:
    return f"{_prefix()}fail:a:{address_bucket(address)}"


def _redis():
    return get_redis_connection("default")


# KEYS: account, address. ARGV: now (ms), free per account, free per address, base (ms), cap (ms), ttl (s).
# Returns 0 (go on: the attempt is counted as a failure) or the milliseconds to wait.
_BEGIN = """
local now = tonumber(ARGV[1])
local wait = 0
for i = 1, 2 do
  local blocked = tonumber(redis.call('HGET', KEYS[i], 'until') or '0')
  if blocked - now > wait then wait = blocked - now end
end
if wait > 0 then return math.ceil(wait) end
for i = 1, 2 do
  local n = redis.call('HINCRBY', KEYS[i], 'n', 1)
  local free = tonumber(ARGV[i + 1])
  if n >= free then
    local delay = math.min(tonumber(ARGV[4]) * math.pow(2, n - free), tonumber(ARGV[5]))
    redis.call('HSET', KEYS[i], 'until', string.format('%d', now + delay))
  end
  redis.call('EXPIRE', KEYS[i], ARGV[6])
end
return 0
"""

# A success. KEYS: account, address. ARGV: free per address.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  local n = redis.call('HINCRBY', KEYS[2], 'n', -1)
  if n < tonumber(ARGV[1]) then redis.call('HDEL', KEYS[2], 'until') end
end
return 1
"""

# KEYS: the window's counter. ARGV: window (s). Returns the count including this attempt.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


@dataclass(frozen=True)
class LoginAttempt:
    """An attempt that may check the password (already counted as a failure); tell it how it went."""

    account_key: str | None
    address_key: str | None

    def succeeded(self) -> None:
        if self.account_key is None:
            return
        try:
            _redis().eval(_SUCCEEDED, 2, self.account_key, self.address_key,
                          int(settings.LOGIN_FAILURES_FREE_PER_ADDRESS))
        except Exception:  # noqa: BLE001 - the login stands; the count just stays
            logger.warning("login throttle: could not record a success", exc_info=True)


def begin_login(username: str, address: str) -> LoginAttempt:
    """Before checking a password: raises Throttled while the account or the address must wait."""
    account_key, address_key = _account_key(username), _address_key(address)
    try:
        wait_ms = _redis().eval(
            _BEGIN, 2, account_key, address_key, int(time.time() * 1000),
            int(settings.LOGIN_FAILURES_FREE_PER_ACCOUNT), int(settings.LOGIN_FAILURES_FREE_PER_ADDRESS),
            int(float(settings.LOGIN_BACKOFF_BASE_SECONDS) * 1000), int(float(settings.LOGIN_BACKOFF_MAX_SECONDS) * 1000),
            int(settings.LOGIN_FAILURES_FORGOTTEN_SECONDS),
        )
    except Exception:  # noqa: BLE001 - Redis down: logging in must keep working
        logger.warning("login throttle unavailable; the attempt is not limited", exc_info=True)
        return LoginAttempt(None, None)
    if wait_ms:
        seconds = math.ceil(int(wait_ms) / 1000)
        raise Throttled(f"Too many failed logins; try again in {seconds} s.", seconds)
    return LoginAttempt(account_key, address_key)


def begin_registration(address: str) -> None:
    """Counts a registration attempt from ``address``; raises Throttled beyond the window's allowance."""
    window = int(settings.REGISTRATION_WINDOW_SECONDS)
    limit = int(settings.REGISTRATIONS_PER_ADDRESS)
    now = time.time()
    slot = int(now // window)
    key = f"{_prefix()}reg:{address_bucket(address)}:{slot}"
    try:
        count = int(_redis().eval(_COUNT, 1, key, window))
    except Exception:  # noqa: BLE001
        logger.warning("registration throttle unavailable; the attempt is not limited", exc_info=True)
        return
    if count > limit:
        seconds = math.ceil((slot + 1) * window - now)
        raise Throttled(f"Too many registrations from this address (at most {limit} in {window} s); "
                        f"try again in {seconds} s.", seconds)
