"""Persisted documents: Apollo's automatic persisted queries (APQ) and trusted documents.

Which document text a request runs, given its ``query`` and its persisted-document reference
(``extensions.persistedQuery.sha256Hash`` as Apollo sends it, or ``documentId`` as the GraphQL over
HTTP persisted-documents proposal does, ``"sha256:<hex>"``):

- **APQ** (``GRAPHQL_APQ``, on by default): a hash alone runs the text registered for it, or answers
  ``PERSISTED_QUERY_NOT_FOUND`` (message ``PersistedQueryNotFound``) so the client sends the hash and
  the text; that follow-up registers the text when its SHA-256 is the hash and it is a valid document.
  Registered texts live in Redis, bounded: at most ``GRAPHQL_APQ_MAX_DOCUMENTS`` (oldest registrations
  go first), each for ``GRAPHQL_APQ_TTL_SECONDS`` after its last registration, each at most
  ``GRAPHQL_APQ_MAX_BYTES`` long. A process keeps the texts it has seen in memory too (they are
  verified: a hash names one text), so a known hash costs no round trip, and no parse or validation
  (schema/core/execution.py caches those per text).
- **Trusted documents** (``GRAPHQL_TRUSTED_DOCUMENTS`` = the path of a JSON manifest a client build
  emits): only the manifest's documents run. A reference must be one of its ids; a ``query`` alone runs
  when its SHA-256 is one of them (so clients that send text still work); anything else is
  ``PERSISTED_QUERY_NOT_IN_LIST``. Nothing is registered at run time. Manifest formats: ``{id: text}``
  (Relay's ``persist`` output, GraphQL Code Generator's persisted documents) or Apollo's
  persisted-query manifest (``{"format": "apollo-persisted-query-manifest", "operations": [...]}``).

Nothing here imports a domain package: the view (and the websocket layer) call :func:`resolve`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from .errors import RequestErrorCode

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
DOCUMENT_ID = re.compile(r"[A-Za-z0-9:._-]{1,200}")

NOT_FOUND = RequestErrorCode.PERSISTED_QUERY_NOT_FOUND
NOT_SUPPORTED = RequestErrorCode.PERSISTED_QUERY_NOT_SUPPORTED
NOT_IN_LIST = RequestErrorCode.PERSISTED_QUERY_NOT_IN_LIST
HASH_MISMATCH = RequestErrorCode.PERSISTED_QUERY_HASH_MISMATCH
BAD_USER_INPUT = RequestErrorCode.BAD_USER_INPUT


class DocumentError(Exception):
    """The request names no runnable document; ``code`` and ``message`` go to the client."""

    def __init__(self, code: RequestErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Resolved:
    """The text to run; ``register`` is set when it came with a hash that is new here (APQ)."""

    text: str
    register: str | None = None  # the sha256 hash to store the text under once it validated


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apq_enabled() -> bool:
    return bool(getattr(settings, "GRAPHQL_APQ", True))


def trusted_path() -> str | None:
    return getattr(settings, "GRAPHQL_TRUSTED_DOCUMENTS", None) or None


# --- the reference a request carries ----------------------------------------------------
def reference(extensions: dict | None, document_id) -> str | None:
    """The hash or id a request names (None: it names none). Raises DocumentError when malformed."""
    if document_id is not None:
        if not isinstance(document_id, str) or not DOCUMENT_ID.fullmatch(document_id):
            raise DocumentError(BAD_USER_INPUT, "`documentId` must be a string such as \"sha256:<hex>\".")
        return document_id
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise DocumentError(BAD_USER_INPUT, "`extensions.persistedQuery` must be an object.")
    if persisted.get("version", 1) != 1:
        raise DocumentError(BAD_USER_INPUT, "Unsupported persisted query version (1 is supported).")
    value = persisted.get("sha256Hash")
    if not isinstance(value, str) or not SHA256_HEX.fullmatch(value):
        raise DocumentError(BAD_USER_INPUT,
                            "`extensions.persistedQuery.sha256Hash` must be 64 lowercase hexadecimal digits.")
    return value


def _hash_of(ref: str) -> str | None:
    """The SHA-256 a reference names, when it names one ("<hex>" or "sha256:<hex>")."""
    value = ref[7:] if ref.startswith("sha256:") else ref
    return value if SHA256_HEX.fullmatch(value) else None


def resolve(query, extensions: dict | None, document_id=None) -> Resolved:
    """The document text a request runs. Raises DocumentError (see the module's docstring)."""
    if query is not None and not isinstance(query, str):
        raise DocumentError(BAD_USER_INPUT, "`query` must be a string.")
    ref = reference(extensions, document_id)
    if trusted_path():
        return _resolve_trusted(query, ref)
    if ref is None:
        if not query:
            raise DocumentError(BAD_USER_INPUT, "Must provide a query string.")
        return Resolved(query)
    if not apq_enabled():
        if query:
            return Resolved(query)  # the reference is only an optimisation: run the text
        raise DocumentError(NOT_SUPPORTED, "PersistedQueryNotSupported")
    digest = _hash_of(ref)
    if digest is None:
        raise DocumentError(NOT_FOUND, "PersistedQueryNotFound")
    if query:
        if sha256(query) != digest:
            raise DocumentError(HASH_MISMATCH, "The query's SHA-256 is not the hash it was sent with.")
        return Resolved(query, register=None if _memory_get(digest) == query else digest)
    text = apq_store.get(digest)
    if text is None:
        raise DocumentError(NOT_FOUND, "PersistedQueryNotFound")
    return Resolved(text)


def register(resolved: Resolved) -> None:
    """Stores an APQ text (called once it parsed and validated)."""
    if resolved.register:
        apq_store.put(resolved.register, resolved.text)


# --- APQ: Redis, bounded, with a verified in-process cache ----------------------------------
_memory: OrderedDict[str, str] = OrderedDict()
_memory_lock = threading.Lock()
MEMORY_ENTRIES = 2048


def _memory_get(digest: str) -> str | None:
    with _memory_lock:
        text = _memory.get(digest)
        if text is not None:
            _memory.move_to_end(digest)
        return text


def _memory_put(digest: str, text: str) -> None:
    with _memory_lock:
        _memory[digest] = text
        _memory.move_to_end(digest)
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)


# KEYS[1]: the text's key, KEYS[2]: the index (a sorted set of hashes by registration time).
# ARGV: hash, text, ttl, now, max documents, key prefix of texts.
_PUT = """
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[1])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', ARGV[6] .. oldest[i]) end
end
return over
"""


class APQStore:
    def __init__(self):
        self._script = None

    @staticmethod
    def _redis():
        from django_redis import get_redis_connection

        return get_redis_connection("default")

    @staticmethod
    def _text_prefix() -> str:
        return cache.make_key("apq:doc:")

    @staticmethod
    def _index_key() -> str:
        return cache.make_key("apq:index")

    def get(self, digest: str) -> str | None:
        text = _memory_get(digest)
        if text is not None:
            return text
        raw = self._redis().get(self._text_prefix() + digest)
        if raw is None:
            return None
        text = raw.decode("utf-8")
        if sha256(text) != digest:  # never run a text under another's hash
            return None
        _memory_put(digest, text)
        return text

    def put(self, digest: str, text: str) -> None:
        _memory_put(digest, text)
        if len(text.encode("utf-8")) > int(getattr(settings, "GRAPHQL_APQ_MAX_BYTES", 64 * 1024)):
            return  # runs, but is not stored: the client sends it with its hash again next time
        if self._script is None:
            self._script = self._redis().register_script(_PUT)
        prefix = self._text_prefix()
        self._script(keys=[prefix + digest, self._index_key()], args=[
            digest, text, int(getattr(settings, "GRAPHQL_APQ_TTL_SECONDS", 7 * 86400)), time.time(),
            int(getattr(settings, "GRAPHQL_APQ_MAX_DOCUMENTS", 10000)), prefix,
        ])

    def count(self) -> int:
        return int(self._redis().zcard(self._index_key()))

    def clear_memory(self) -> None:
        with _memory_lock:
            _memory.clear()


apq_store = APQStore()


# --- trusted documents ------------------------------------------------------------------
class ManifestError(ValueError):
    pass


@lru_cache(maxsize=4)
def load_manifest(path: str) -> dict[str, str]:
    """{id: text} from a manifest file; raises ManifestError for anything else."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ManifestError(f"GRAPHQL_TRUSTED_DOCUMENTS: cannot read {path}: {error}") from None
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ManifestError(f"{path}: `operations` must be a list")
        pairs = [(op.get("id"), op.get("body")) for op in operations if isinstance(op, dict)]
        if len(pairs) != len(operations):
            raise ManifestError(f"{path}: every operation must be an object with `id` and `body`")
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ManifestError(f"{path}: expected an object {{id: document text}}")
    documents: dict[str, str] = {}
    for key, text in pairs:
        if not isinstance(key, str) or not DOCUMENT_ID.fullmatch(key) or not isinstance(text, str) or not text:
            raise ManifestError(f"{path}: entry {key!r} must map an id to a document text")
        documents[key] = text
    # Texts are also found by their SHA-256 (a client that sends the text, or "sha256:<hex>" ids).
    for text in list(documents.values()):
        documents.setdefault(f"sha256:{sha256(text)}", text)
    return documents


def trusted_documents() -> dict[str, str]:
    path = trusted_path()
    return load_manifest(str(path)) if path else {}


def _resolve_trusted(query, ref: str | None) -> Resolved:
    documents = trusted_documents()
    if ref is not None:
        text = documents.get(ref)
        if text is None and (digest := _hash_of(ref)):
            text = documents.get(digest) or documents.get(f"sha256:{digest}")
        if text is None:
            raise DocumentError(NOT_IN_LIST, "Only trusted documents run here; this id is not one of them.")
        if query and query != text:
            raise DocumentError(HASH_MISMATCH, "The query is not the trusted document its id names.")
        return Resolved(text)
    if not query:
        raise DocumentError(BAD_USER_INPUT, "Must provide a query string or a trusted document's id.")
    if f"sha256:{sha256(query)}" not in documents:
        raise DocumentError(NOT_IN_LIST, "Only trusted documents run here; this query is not one of them.")
    return Resolved(query)


def check_trusted_documents(schema) -> list[str]:
    """Problems with the configured manifest: unreadable, or documents that do not validate for ``schema``."""
    if not trusted_path():
        return []
    from .execution import RequestError, parse_and_validate

    try:
        documents = trusted_documents()
    except ManifestError as error:
        return [str(error)]
    problems = []
    first_key = {}
    for key, text in documents.items():
        first_key.setdefault(text, key)
    for text, key in first_key.items():
        try:
            parse_and_validate(schema, text)
        except RequestError as error:
            problems.append(f"trusted document {key}: {error.errors[0].message}")
    return problems
