"""The analytics key space in Redis and the Lua scripts that change it atomically.

All keys are under ``{REDIS_KEY_PREFIX}:an:``:

``p:{post}``       hash  pending counts of one post: ``{hour}:{k}`` -> n (``hour`` = epoch seconds of
                         the UTC hour; ``k`` = v(iews) l(ikes) c(omments) s(hares)) and ``a`` -> author id
``u:{author}``     hash  the same summed over the author's posts, plus ``v`` -> all their pending views
``pv``             hash  post id -> pending views (what ``Post.viewCount`` adds to ``view_count``)
``dirty``          set   post ids that have pending counts
``hll:{post}``     HyperLogLog of the post's viewers, for its lifetime (never flushed)
``seen:{viewer}:{slot}``  set  posts whose view by this viewer was counted in this dedupe window
``flushing``       string  the batch being folded into PostgreSQL (JSON), for crash recovery
``trend:{posts,tags}:{window}``  string  a cached trend list (:mod:`analytics.trends`)

The Lua scripts below build the same names from the prefix (``p .. 'p:' .. post``): keep both in step.
"""

from __future__ import annotations

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Redis is unreachable (down, restarting, too slow): what the reads below fall back from.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def redis():
    return get_redis_connection("default")


def prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:an:"


def post_key(post_id: int) -> str:
    return f"{prefix()}p:{post_id}"


def user_key(author_id: int) -> str:
    return f"{prefix()}u:{author_id}"


def pending_views_key() -> str:
    return f"{prefix()}pv"


def dirty_key() -> str:
    return f"{prefix()}dirty"


def hll_key(post_id: int) -> str:
    return f"{prefix()}hll:{post_id}"


def seen_key(viewer: str, slot: int) -> str:
    return f"{prefix()}seen:{viewer}:{slot}"


def flushing_key() -> str:
    return f"{prefix()}flushing"


def trend_key(kind: str, window: str) -> str:
    return f"{prefix()}trend:{kind}:{window}"


# Counts one like/comment/share (or its undo) in the post's and the author's pending hashes.
# ARGV: prefix, hour, author, post, field suffix, delta
BUMP = """
local p = ARGV[1]
local pk = p .. 'p:' .. ARGV[4]
local f = ARGV[2] .. ':' .. ARGV[5]
redis.call('HINCRBY', pk, f, ARGV[6])
redis.call('HSET', pk, 'a', ARGV[3])
redis.call('HINCRBY', p .. 'u:' .. ARGV[3], f, ARGV[6])
redis.call('SADD', p .. 'dirty', ARGV[4])
return 1
"""

# Counts one viewer's views of several posts, each once per dedupe window; returns how many counted.
# ARGV: prefix, hour, seen key ('' = no dedupe), seen ttl, viewer id, then post, author pairs.
VIEWS = """
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
SUBTRACT = """
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


def script(source: str):
    """A registered Lua script (EVALSHA, falling back to EVAL after a Redis restart)."""
    registered = _scripts.get(source)
    if registered is None:
        registered = _scripts[source] = redis().register_script(source)
    return registered


def pending_hashes(keys: list[str]) -> list[dict]:
    """HGETALL of each key, in one round trip."""
    if not keys:
        return []
    pipe = redis().pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    return pipe.execute()


def parse_pending(raw: dict) -> dict[int, dict[str, int]]:
    """A pending hash -> {hour: {kind letter: n}} (the author field and totals skipped)."""
    hours: dict[int, dict[str, int]] = {}
    for key, value in raw.items():
        key = key.decode() if isinstance(key, bytes) else key
        hour, sep, kind = key.partition(":")
        if not sep:
            continue
        hours.setdefault(int(hour), {})[kind] = int(value)
    return hours
