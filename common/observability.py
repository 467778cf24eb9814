"""One JSON log line and the metrics of every HTTP request.

:class:`RequestObservationMiddleware` (right after the request-id middleware) times the request, counts
its SQL statements (a ``connection.execute_wrapper``), and when the response is ready writes ONE log line
(logger ``request``: method, path, route, status, duration_ms, sql_count, operation, outcome, user_id,
response_cache when the GraphQL response cache took part; the request id comes from the log filter) and counts it in :mod:`common.metrics`. The GraphQL layer tells it
which operations ran through :func:`note_graphql_operation`, and what the response cache did through
:func:`note_response_cache`.

It replaces Django's own "Bad Request: …" / "Internal Server Error: …" lines (``django.request``, dropped
by :class:`DropDjangoRequestLines` in LOGGING) and daphne's access log (off: ``--access-log /dev/null``),
which wrote every 4xx twice. An exception a view let through is logged in the request line, with its
traceback.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from . import metrics

logger = logging.getLogger("request")


@dataclass
class Observation:
    operations: list[str] = field(default_factory=list)
    graphql_errors: bool = False
    sql: int = 0
    exc_info: tuple | None = None
    response_cache: list[str] = field(default_factory=list)


_current: ContextVar[Observation | None] = ContextVar("observation", default=None)


def note_graphql_operation(name: str | None, *, errors: bool = False) -> None:
    """Called by the GraphQL layer for each operation it runs in the current HTTP request (no-op outside one)."""
    observation = _current.get()
    if observation is not None:
        observation.operations.append(metrics.operation_label(name))
        observation.graphql_errors = observation.graphql_errors or errors


def note_response_cache(outcome: str) -> None:
    """What the response cache did for one operation (hit, stale, miss, bypass): counted, and in the request line."""
    metrics.count_response_cache(outcome)
    observation = _current.get()
    if observation is not None:
        observation.response_cache.append(outcome)


def route_of(request) -> str:
    """The request line's and metrics' ``route``: the URL pattern's name (or static, unmatched, other)."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name:
        return match.url_name
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched" if match is None else "other"


def _outcome(status: int, observation: Observation) -> str:
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    if observation.graphql_errors:
        return "graphql_error"
    return "ok"


def _user_id(request):
    # Never evaluate a lazy session user just to log it (that would be a query): only a user already there.
    from django.utils.functional import empty

    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:  # an unevaluated SimpleLazyObject
        return None
    if getattr(wrapped, "is_authenticated", False):
        return wrapped.pk
    return None


class RequestObservationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        observation = Observation()
        token = _current.set(observation)

        def count(execute, sql, params, many, context):
            observation.sql += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        try:
            with connection.execute_wrapper(count):
                response = self.get_response(request)
        finally:
            _current.reset(token)
        duration = time.perf_counter() - started
        self._record(request, response, observation, duration)
        return response

    def process_exception(self, request, exception):
        import sys

        observation = _current.get()
        if observation is not None:
            observation.exc_info = sys.exc_info()
            request._observation_logged_exception = True
        return None

    def _record(self, request, response, observation: Observation, duration: float) -> None:
        record(observation, method=request.method, full_path=request.get_full_path(), path=request.path,
               route=route_of(request), status=response.status_code, duration=duration, user_id=_user_id(request))


@contextmanager
def observing():
    """An Observation current for a block: what the GraphQL layer notes in it goes into :func:`record`.
    For an answer given outside Django's middleware (schema/core/cache_lane.py)."""
    observation = Observation()
    token = _current.set(observation)
    try:
        yield observation
    finally:
        _current.reset(token)


def record(observation: Observation, *, method: str, full_path: str, path: str, route: str, status: int,
           duration: float, user_id=None) -> None:
    """The request line and the metrics of one HTTP request: the one place that writes them."""
    operations = observation.operations
    operation = "-" if not operations else operations[0] if len(set(operations)) == 1 else "batch"
    outcome = _outcome(status, observation)
    metrics.REQUESTS.labels(route, operation, outcome).inc()
    metrics.REQUEST_SECONDS.labels(route, operation).observe(duration)
    metrics.REQUEST_SQL.labels(route, operation).observe(observation.sql)
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
    logger.log(
        level, "%s %s %s", method, full_path[:200], status,
        exc_info=observation.exc_info,
        extra={
            "method": method,
            "path": path[:200],
            "route": route,
            "status": status,
            "duration_ms": round(duration * 1000, 2),
            "sql_count": observation.sql,
            "operation": ",".join(dict.fromkeys(operations)) if operations else None,
            "outcome": outcome,
            "user_id": user_id,
            **({"response_cache": ",".join(observation.response_cache)} if observation.response_cache else {}),
        },
    )


class DropDjangoRequestLines(logging.Filter):
    """On the ``django.request`` logger: drops what the request line already says (4xx, and 5xx whose
    exception the request line carries). A 5xx raised above this middleware still gets Django's line."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            return False
        request = getattr(record, "request", None)
        if request is not None and getattr(request, "_observation_logged_exception", False):
            return False
        return True


def observe_websockets(app):
    """ASGI middleware for the websocket side: gives the connection a request id (the handshake's
    ``X-Request-ID`` or a new one) for its log lines, counts open connections (metrics) and writes one
    line when a websocket closes (path, subprotocol, close code, duration) — daphne's access log is off."""
    ws_logger = logging.getLogger("websocket")

    async def observed(scope, receive, send):
        if scope.get("type") != "websocket":
            return await app(scope, receive, send)
        from .request_id import HEADER, accept_request_id, use_request_id

        headers = dict(scope.get("headers") or [])
        supplied = headers.get(HEADER.lower().encode(), b"").decode("latin-1")
        state = {"accepted": False, "subprotocol": None, "close_code": None}
        started = time.perf_counter()

        async def sending(message):
            kind = message.get("type")
            if kind == "websocket.accept" and not state["accepted"]:
                state["accepted"] = True
                state["subprotocol"] = message.get("subprotocol")
                metrics.WEBSOCKET_CONNECTIONS.inc()
                metrics.WEBSOCKET_CONNECTIONS_TOTAL.inc()
            elif kind == "websocket.close":
                state["close_code"] = message.get("code", 1000)
            await send(message)

        sending.__wrapped__ = send  # schema/realtime/wire.py finds daphne's send (its write buffer) through it
        try:
            with use_request_id(accept_request_id(supplied)):  # the connection's log lines share one id
                return await app(scope, receive, sending)
        finally:
            if state["accepted"]:
                metrics.WEBSOCKET_CONNECTIONS.dec()
            ws_logger.info(
                "websocket %s closed", scope.get("path"),
                extra={"path": scope.get("path"), "accepted": state["accepted"], "subprotocol": state["subprotocol"],
                       "close_code": state["close_code"],
                       "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            )

    return observed
