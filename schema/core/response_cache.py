"""The response cache of GraphQL over HTTP: answers that do not depend on the viewer, computed once.

With ``RESPONSE_CACHE`` on, the view (schema/core/views.py) asks :func:`lookup` after the operation was
resolved, validated and charged to the caller's budget (a cached answer costs the same points), and
:func:`store` after it ran. docs/architecture.md ("The response cache") draws the path.

What is cached: a query (never a mutation or subscription), alone (an operation of a batch is not cached),
whose answer is the same for every caller: the request carries no ``Authorization`` header ("anonymous"),
or the document needs no viewer (introspection: "public"); its root selects no ``rateLimit`` (the caller's
budget). Only answers without errors.

The key: sha256 of the schema's SDL hash, the validation policy (introspection on or off, node limit), the
document text (a persisted document's text), ``operationName``, the variables as canonical JSON and the
viewer class. The value: the compact JSON body, its ETag, the time it was computed and the *content
generation* it was computed at (common/response_cache_bus.py).

Two layers: a byte-bounded LRU in process memory (``RESPONSE_CACHE_MEMORY_BYTES``) in front of Redis
(``{REDIS_KEY_PREFIX}:1:rc:<hash>``, shared by every process). Every look-up reads the current generation
from Redis (one GET, pipelined with the entry's GET when memory has no fresh entry): an entry of another
generation is never served, so an edit, a deletion or an account change is never answered after its
commit, in any process. Without an answer from Redis nothing is served from the cache (bypass).

Freshness: an entry younger than ``RESPONSE_CACHE_MAX_STALENESS`` seconds is served (hit). An older one of
the current generation (counters moved, new posts appeared) is refreshed by ONE request, the one that
takes the entry's lock (SET NX PX, ``RESPONSE_CACHE_REFRESH_SECONDS``); meanwhile the others get the stale
copy (stale). Past ``MAX_STALENESS + REFRESH_SECONDS`` an entry is not served at all (Redis expires it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from graphql import OperationType
from redis.exceptions import RedisError

from common import response_cache_bus
from common.lru import BytesLRU
from common.fastjson import compact_json
from common.observability import note_graphql_operation, note_response_cache

from .cost import max_nodes
from .execution import introspection_allowed, root_field_names

logger = logging.getLogger("schema.response_cache")

ANONYMOUS = "anonymous"
PUBLIC = "public"
# Root fields whose answer is the caller's even without a viewer.
CALLER_FIELDS = frozenset({"rateLimit"})
ENTRY_OVERHEAD = 200  # bytes counted per entry besides its text (key, numbers, ETag)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def enabled() -> bool:
    return bool(getattr(settings, "RESPONSE_CACHE", False))


def max_staleness() -> float:
    return float(getattr(settings, "RESPONSE_CACHE_MAX_STALENESS", 1.0))


def refresh_seconds() -> float:
    return float(getattr(settings, "RESPONSE_CACHE_REFRESH_SECONDS", 2.0))


def etag_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class Entry:
    text: str  # the compact JSON body
    etag: str
    generation: int
    created: float  # epoch seconds: when the answer's data was read

    @cached_property
    def payload(self) -> bytes:
        """The body as an HTTP response carries it (UTF-8, as Django's HttpResponse encodes it)."""
        return self.text.encode("utf-8")

    @property
    def size(self) -> int:
        return len(self.text) + ENTRY_OVERHEAD

    def encode(self) -> bytes:
        return f"{self.generation}\n{self.created!r}\n{self.etag}\n".encode() + self.text.encode(
            "utf-8", "surrogatepass")

    @classmethod
    def decode(cls, raw: bytes | None) -> Entry | None:
        if not raw:
            return None
        try:
            generation, created, etag, text = raw.split(b"\n", 3)
            return cls(text.decode("utf-8", "surrogatepass"), etag.decode(), int(generation), float(created))
        except ValueError:
            return None


def _memory_bytes() -> int:
    return int(getattr(settings, "RESPONSE_CACHE_MEMORY_BYTES", 32 * 1024 * 1024))


# The memory layer: entries by key, at most RESPONSE_CACHE_MEMORY_BYTES (read on each insert).
memory: BytesLRU[Entry] = BytesLRU(_memory_bytes, lambda key, entry: entry.size)


@receiver(setting_changed, dispatch_uid="schema.response_cache.settings")
def _settings_changed(setting, **kwargs) -> None:
    # What an answer depends on includes settings (page sizes, policies): a changed setting (tests) is a new
    # generation, in memory and in Redis (only while the cache is on, or turned on or off: with it off
    # nothing is read, and Redis may be the thing a test just pointed elsewhere).
    memory.clear()
    if enabled() or setting.startswith("RESPONSE_CACHE"):
        response_cache_bus.bump()


# --- what may be cached, under which key ------------------------------------------------------------
def viewer_class(request, document, operation, *, no_viewer: bool, in_batch: bool) -> str | None:
    """"anonymous" or "public" when this operation's answer is the same for every caller; None otherwise."""
    if in_batch or operation.operation != OperationType.QUERY:
        return None
    if root_field_names(document, operation) & CALLER_FIELDS:
        return None
    if no_viewer:
        return PUBLIC
    if request.headers.get("Authorization"):
        return None
    return ANONYMOUS


def key_of(schema_tag: str, text: str, operation_name: str | None, variables: dict | None, viewer: str) -> str:
    """The entry's name in Redis (and memory): everything the answer depends on, hashed."""
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256()
    for part in (schema_tag, repr((introspection_allowed(), max_nodes())), viewer, operation_name or "",
                 canonical, text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return cache.make_key(f"rc:{digest.hexdigest()}")


def lock_key(key: str) -> str:
    return f"{key}:lock"


# --- reading and writing -----------------------------------------------------------------------------
@dataclass
class Lookup:
    """What :func:`lookup` found: ``entry`` to serve (hit, stale), or the generation to store at (miss)."""

    key: str
    outcome: str  # hit, stale, miss, bypass
    entry: Entry | None = None
    generation: int | None = None
    started: float = 0.0
    lock: str | None = None  # the refresh lock's token, when this request refreshes a stale entry


def _fetch(key: str, with_entry: bool) -> tuple[int, Entry | None]:
    redis = response_cache_bus.redis()
    if with_entry:
        with redis.pipeline(transaction=False) as pipe:
            pipe.get(response_cache_bus.generation_key())
            pipe.get(key)
            generation, raw = pipe.execute()
    else:
        generation, raw = redis.get(response_cache_bus.generation_key()), None
    generation = int(generation) if generation is not None else response_cache_bus.current()
    return generation, Entry.decode(raw)


def try_lock(key: str) -> str | None:
    """Takes the refresh lock of an entry (one holder across processes); its token, or None when held."""
    token = uuid.uuid4().hex
    taken = response_cache_bus.redis().set(lock_key(key), token, nx=True,
                                           px=max(1, int(refresh_seconds() * 1000)))
    return token if taken else None


def release_lock(key: str, token: str) -> None:
    try:
        response_cache_bus.script(_RELEASE)(keys=[lock_key(key)], args=[token])
    except RedisError:
        logger.warning("response cache: could not release a refresh lock (it expires)", exc_info=True)


def _fresh(entry: Entry | None, now: float) -> bool:
    return entry is not None and now - entry.created <= max_staleness()


def has_fresh(key: str) -> bool:
    """Whether this process's memory holds a fresh entry for ``key`` (of whatever generation)."""
    return _fresh(memory.peek(key), time.time())


def memory_hit(key: str, generation: bytes | str | int | None) -> Lookup | None:
    """:func:`lookup`'s hit from memory, for a caller that just read the generation (None: unknown): the
    entry, or None when only :func:`lookup` can tell (nothing fresh in memory, another generation)."""
    if generation is None:
        return None
    return _memory_hit(key, memory.get(key), generation, time.time())


def _memory_hit(key: str, local: Entry | None, generation, now: float) -> Lookup | None:
    """A hit: this process's entry is fresh and of the current ``generation``."""
    if _fresh(local, now) and local.generation == int(generation):
        return Lookup(key, "hit", local, local.generation, now)
    return None


def lookup(key: str, generation: bytes | str | int | None = None) -> Lookup:
    """The entry to serve for ``key`` (hit, stale), or what to run and store (miss, bypass). ``generation``:
    the value of ``response_cache_bus.generation_key()`` when the caller just read it (the view reads it with
    the budget's charge), else it is read here."""
    now = time.time()
    fresh_for, serve_for = max_staleness(), max_staleness() + refresh_seconds()
    local = memory.get(key)
    try:
        if _fresh(local, now):
            if generation is None:
                generation, _ = _fetch(key, with_entry=False)
            found = _memory_hit(key, local, generation, now)
            if found is not None:
                return found
        generation, remote = _fetch(key, with_entry=True)
        usable = [e for e in (remote, local) if e is not None and e.generation == generation
                  and now - e.created <= serve_for]
        if local is not None and local not in usable:
            memory.discard(key)
        best = max(usable, key=lambda e: e.created, default=None)
        if best is not None and best is remote and best != local:
            memory.put(key, best)
        if best is not None and now - best.created <= fresh_for:
            return Lookup(key, "hit", best, generation, now)
        if best is not None:
            token = try_lock(key)
            if token is None:
                return Lookup(key, "stale", best, generation, now)
            return Lookup(key, "miss", None, generation, now, token)
        return Lookup(key, "miss", None, generation, now)
    except RedisError:
        logger.warning("response cache: Redis unavailable; not caching", exc_info=True)
        return Lookup(key, "bypass", None, None, now)


def store(found: Lookup, body: dict) -> Entry | None:
    """Keeps an answer computed after ``found`` (a miss), in memory and in Redis; the entry, or None when it
    is not kept (too large, no generation)."""
    try:
        if found.generation is None:
            return None
        text = compact_json(body)
        if len(text) > int(getattr(settings, "RESPONSE_CACHE_MAX_ENTRY_BYTES", 1024 * 1024)):
            return None
        entry = Entry(text, etag_of(text), found.generation, found.started)
        ttl = math.ceil(max_staleness() + refresh_seconds()) + 1
        try:
            response_cache_bus.redis().set(found.key, entry.encode(), ex=ttl)
        except RedisError:
            logger.warning("response cache: Redis unavailable; answer not stored", exc_info=True)
            return entry
        memory.put(found.key, entry)
        return entry
    finally:
        finish(found)


def finish(found: Lookup) -> None:
    """Lets go of the refresh lock, if this request held it."""
    if found.lock is not None:
        release_lock(found.key, found.lock)
        found.lock = None


def served(found: Lookup, operation) -> None:
    """The request line and metrics of an answer served from the cache (execute() did not run)."""
    note_graphql_operation(operation.name.value if operation.name else None, errors=False)
    note_response_cache(found.outcome)


def noted(outcome: str) -> None:
    note_response_cache(outcome)
