"""Which failures mean "a backing service is unreachable", and what the client gets for them.

PostgreSQL down (refused, restarting, a connection that died, no pooled connection within the pool's
timeout): the request fails fast with **HTTP 503**, ``Retry-After`` and ``SERVICE_UNAVAILABLE``
(schema/core/views.py). Redis down: reads that can fall back to PostgreSQL do (analytics/reads.py,
analytics/trends.py); what cannot is a field error ``SERVICE_UNAVAILABLE``, the rest of the
response stands (HTTP 200). Errors of a working database (a constraint, a cancelled statement) are not
outages.
"""

from __future__ import annotations

from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError

from .errors import RequestErrorCode, request_error

# Seconds a client should wait before retrying after a 503.
RETRY_AFTER_SECONDS = 5
DATABASE_MESSAGE = "The database is unavailable right now; try again shortly."
REDIS_MESSAGE = "A service this field needs is unavailable right now; try again shortly."


def _chain(error: BaseException | None):
    seen = 0
    while error is not None and seen < 10:
        yield error
        error = getattr(error, "original_error", None) or error.__cause__ or error.__context__
        seen += 1


def database_down(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) says PostgreSQL cannot be reached."""
    for item in _chain(error):
        if isinstance(item, DjangoInterfaceError):
            return True
        if isinstance(item, DjangoOperationalError):
            cause = item.__cause__
            state = getattr(cause, "sqlstate", None)
            # No SQLSTATE: a connection that failed or broke; 08: connection exceptions;
            # 57P: the server shuts down / cannot accept connections (not 57014, a cancelled statement).
            return state is None or state.startswith("08") or state.startswith("57P")
    return False


def redis_down(error: BaseException | None) -> bool:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return any(isinstance(item, (RedisConnectionError, RedisTimeoutError)) for item in _chain(error))


def unavailable(error: BaseException | None) -> bool:
    return database_down(error) or redis_down(error)


def message_for(error: BaseException | None) -> str:
    return DATABASE_MESSAGE if database_down(error) else REDIS_MESSAGE


def database_down_body() -> dict:
    return {"errors": [request_error(RequestErrorCode.SERVICE_UNAVAILABLE, DATABASE_MESSAGE)]}


def retry_after() -> dict:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}
