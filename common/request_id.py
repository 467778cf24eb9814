"""The request id: one per HTTP request, on every response as ``X-Request-ID``, readable anywhere while it runs.

- :class:`RequestIDMiddleware` (first in ``settings.MIDDLEWARE``) takes the client's ``X-Request-ID`` when it is
  a safe token (``[A-Za-z0-9._-]``, at most 64 characters) or makes one (``uuid4().hex``); it sets
  ``request.request_id`` and the header on every response, whatever answers it (GraphQL, GraphiQL, /healthz,
  static files, 404 pages).
- :func:`get_request_id` returns the id of the request being handled (None outside one);
  :func:`use_request_id` sets it for a block of code (a Celery task carrying the id of the request that queued it).
- :class:`RequestIDLogFilter` gives every log record a ``request_id`` attribute ("-" outside a request).
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(supplied: str | None) -> str:
    """The client's id when it is safe to log and echo, otherwise a new one."""
    if supplied and _SAFE.fullmatch(supplied):
        return supplied
    return new_request_id()


def get_request_id() -> str | None:
    return _current.get()


@contextlib.contextmanager
def use_request_id(request_id: str | None):
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


class RequestIDMiddleware:
    """Sets ``request.request_id`` and answers every response with ``X-Request-ID``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = accept_request_id(request.headers.get(HEADER))
        with use_request_id(request.request_id):
            response = self.get_response(request)
        response[HEADER] = request.request_id
        return response


class RequestIDLogFilter(logging.Filter):
    """Adds ``record.request_id`` (the current request's id, or "-") so formats may use ``%(request_id)s``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get() or "-"
        return True
