"""The response cache's lane in front of Django (WSGI): a request answered before, answered again from memory.

A cached answer costs little to find (schema/core/response_cache.py) but a lot to reach: Django's request
and middleware, the view's parsing, validation and cost were two thirds of a hit. Most hits repeat a request
exactly (an app's home screen asks the same thing each time), so this lane, wrapped around the WSGI
application (config/wsgi.py), remembers how the full path answered such a request and answers a repeat
itself, doing the part of a hit that depends on the moment and nothing else:

- Learning: the view marks a request it answered from the response cache, or whose answer it stored there
  (:data:`LEARN` in the WSGI environ: the entry's key, the operation's points and name). The lane keeps
  that under the request's **signature** — method, path, content type, every header but ``X-Request-ID``
  and ``X-Forwarded-For``, the body — with the response's headers as a template. Only requests the body
  alone decides are learnt: a POST with the document's text (no persisted-document reference, no query
  string), no ``Authorization`` header, answered 200.
- Answering a repeat, only while this process's memory holds a *fresh* entry for that key: the caller's
  budget is charged the same points in the same round trip that reads the content generation (the view's
  ``budget.charge``), and the entry is served only when it is of that generation — the response cache's
  own hit rule (:func:`response_cache.memory_hit`). The response is the template with this request's
  ``X-Request-ID``, ``X-RateLimit-*`` and ``Content-Length``; the request line and metrics are written by
  ``common.observability.record`` as for any request (``response_cache: hit``, ``sql_count`` 0).
- Anything else goes to Django untouched: other paths than the API's (``TOKEN_ONLY_PATHS``) and other
  methods without being read; a body the lane read is handed on. An answer the lane charged for
  and then could not give (the generation moved, Redis did not say) goes on with the charge made
  (:data:`PREPAID`): the view does not charge it again. A refused charge changes nothing; the full path
  refuses it again, with its 429.

The memory of signatures is bounded in bytes (``CACHE_LANE_BYTES``, 4 MiB: the signatures' bodies and
headers; the least recently learnt go first), emptied when a setting changes, and per process. With ``RESPONSE_CACHE`` off the lane reads nothing and passes everything on.
"""

from __future__ import annotations

import io
import time
import weakref
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from common import response_cache_bus
from common.browser_middleware import TOKEN_ONLY_PATHS
from common.lru import BytesLRU
from common.observability import note_graphql_operation, note_response_cache, observing, record
from common.request_id import HEADER as REQUEST_ID_HEADER
from common.request_id import accept_request_id, use_request_id

from . import budget, response_cache

LEARN = "feedservice.cache_lane.learn"  # set by the view: (entry key, points, operation name, route)
PREPAID = "feedservice.cache_lane.prepaid"  # set by the lane: the Budget it charged before handing on
MAX_BODY = 64 * 1024  # larger bodies are not read here
UNSIGNED = frozenset({"HTTP_X_REQUEST_ID", "HTTP_X_FORWARDED_FOR"})  # what the lane itself reads per request
# Response headers set per request; the rest of a learnt response's headers are the same for every repeat.
PER_REQUEST = frozenset({REQUEST_ID_HEADER.lower(), "content-length", "x-ratelimit-limit",
                         "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset"})


@dataclass(frozen=True)
class Learnt:
    key: str  # the response cache entry's key
    points: int  # what the operation costs (schema/core/cost.py), charged for every answer
    operation: str | None  # the operation's name (metrics, the request line)
    route: str
    status: str  # the status line ("200 OK")
    headers: tuple[tuple[str, str], ...]  # the full path's response headers, per-request ones included


class _Caller:
    """What ``budget.caller_of`` reads of a request: its WSGI environ as ``META``, no user (anonymous)."""

    user = None
    __slots__ = ("META", "rate_limit")

    def __init__(self, environ):
        self.META = environ


def _max_bytes() -> int:
    return int(getattr(settings, "CACHE_LANE_BYTES", 4 * 1024 * 1024))


def _size(signature: tuple, learnt: Learnt) -> int:
    """About what a learnt request holds in memory: its body, its headers and the response's."""
    return (200 + len(signature[-1]) + sum(len(name) + len(value) for name, value in signature[-2])
            + sum(len(name) + len(value) for name, value in learnt.headers))


class CacheLane:
    """``CacheLane(get_wsgi_application())``: a WSGI application."""

    def __init__(self, application):
        self.application = application
        self._learnt: BytesLRU[Learnt] = BytesLRU(_max_bytes, _size)
        _lanes.add(self)

    def forget(self) -> None:
        self._learnt.clear()

    def __len__(self) -> int:
        return len(self._learnt)

    @property
    def bytes(self) -> int:
        return self._learnt.bytes

    def __call__(self, environ, start_response):
        if (environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") not in TOKEN_ONLY_PATHS
                or environ.get("QUERY_STRING") or "HTTP_AUTHORIZATION" in environ or not response_cache.enabled()):
            return self.application(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if not 0 < length <= MAX_BODY:
            return self.application(environ, start_response)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # Django reads the same bytes if the lane hands on
        signature = self._signature(environ, body)
        learnt = self._learnt.peek(signature)
        if learnt is not None:
            answer = self._answer(environ, learnt, start_response)
            if answer is not None:
                return answer
        return self._learn(environ, signature, start_response)

    @staticmethod
    def _signature(environ, body: bytes) -> tuple:
        headers = tuple(sorted((name, value) for name, value in environ.items()
                               if name.startswith("HTTP_") and name not in UNSIGNED))
        return (environ.get("PATH_INFO"), environ.get("SCRIPT_NAME"), environ.get("CONTENT_TYPE"),
                environ.get("wsgi.url_scheme"), environ.get("SERVER_NAME"), environ.get("SERVER_PORT"),
                headers, body)

    def _learn(self, environ, signature: tuple, start_response):
        seen = {}

        def starting(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.application(environ, starting)
        learn = environ.get(LEARN)
        if learn is not None and seen.get("status", "").startswith("200 "):
            key, points, operation, route = learn
            entry = Learnt(key, int(points), operation, route, seen["status"], tuple(seen["headers"]))
            self._learnt.put(signature, entry)
        return result

    def _answer(self, environ, learnt: Learnt, start_response):
        if not response_cache.has_fresh(learnt.key):
            return None  # the full path finds, refreshes or runs it
        started = time.perf_counter()
        request_id = accept_request_id(environ.get("HTTP_X_REQUEST_ID"))
        with use_request_id(request_id), observing() as observation:
            caller = _Caller(environ)
            charged = budget.charge(caller, learnt.points, who=budget.caller_of(caller),
                                    read=response_cache_bus.generation_key())
            if not charged.allowed:
                return None  # refused: nothing changed; the full path refuses it with its 429
            found = response_cache.memory_hit(learnt.key, charged.read)
            if found is None:
                environ[PREPAID] = charged
                return None
            note_graphql_operation(learnt.operation, errors=False)
            note_response_cache(found.outcome)
            payload = found.entry.payload
            per_request = {REQUEST_ID_HEADER.lower(): request_id, "content-length": str(len(payload)),
                           **{name.lower(): value for name, value in budget.headers(charged).items()}}
            headers = [(name, per_request.get(name.lower(), value)) for name, value in learnt.headers]
            start_response(learnt.status, headers)
            record(observation, method="POST", full_path=environ.get("PATH_INFO", ""),
                   path=environ.get("PATH_INFO", ""), route=learnt.route, status=200,
                   duration=time.perf_counter() - started)
        return [payload]


_lanes: weakref.WeakSet[CacheLane] = weakref.WeakSet()


@receiver(setting_changed, dispatch_uid="schema.cache_lane.settings")
def _settings_changed(**kwargs) -> None:
    # What an answer depends on includes settings (the response cache starts a new generation for them too).
    for lane in _lanes:
        lane.forget()
