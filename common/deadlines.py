"""Time bounds of one request: a deadline, and whether its client is still there.

- :class:`Deadline` — when the work of a request must stop (``settings.GRAPHQL_EXECUTION_TIMEOUT`` seconds
  after it started, 0: never) or that its client went away. The GraphQL execution checks it before each
  field and each loader batch (schema/core/execution.py) and stops the operation with code TIMEOUT.
- :func:`watch_disconnect` — an ASGI wrapper for HTTP (config/asgi.py): Django's ASGI handler notices an
  ``http.disconnect`` while a view runs but cannot stop a synchronous view's thread; this wrapper records the
  disconnect in ``scope["client_gone"]`` (a ``threading.Event``) that the view's :class:`Deadline` reads.
- PostgreSQL's ``statement_timeout`` (``DB_STATEMENT_TIMEOUT_MS``, config/settings.py) bounds one statement,
  which this code cannot interrupt.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings


class Deadline:
    """``expired()`` once ``seconds`` have passed since ``started`` (None: no limit) or ``client_gone`` is set."""

    __slots__ = ("seconds", "started", "at", "client_gone", "last_path")

    def __init__(self, seconds: float | None, client_gone: threading.Event | None = None,
                 started: float | None = None):
        self.seconds = seconds if seconds and seconds > 0 else None
        self.started = time.monotonic() if started is None else started
        self.at = None if self.seconds is None else self.started + self.seconds
        self.client_gone = client_gone
        self.last_path = None  # where the execution was last seen (the GraphQL layer keeps it)

    @classmethod
    def for_request(cls, request) -> "Deadline":
        """The deadline of an HTTP request (or a websocket operation): made on first use, kept on ``request``."""
        deadline = getattr(request, "_deadline", None)
        if deadline is None:
            scope = getattr(request, "scope", None) or {}
            deadline = cls(float(getattr(settings, "GRAPHQL_EXECUTION_TIMEOUT", 10)), scope.get("client_gone"))
            try:
                request._deadline = deadline
            except AttributeError:  # a context that takes no attributes: a deadline per execution
                pass
        return deadline

    def expired(self) -> bool:
        if self.at is not None and time.monotonic() >= self.at:
            return True
        return self.client_gone is not None and self.client_gone.is_set()

    def reason(self) -> str:
        if self.client_gone is not None and self.client_gone.is_set():
            return "The client went away; the operation was stopped."
        return (f"The operation ran longer than {self.seconds:g} s and was stopped; ask for fewer objects "
                "(smaller `first`, less nesting) or split the query.")


def watch_disconnect(app):
    """ASGI middleware for HTTP: ``scope["client_gone"]`` is set when the client disconnects."""

    async def application(scope, receive, send):
        if scope.get("type") != "http":
            return await app(scope, receive, send)
        gone = threading.Event()

        async def watched_receive():
            message = await receive()
            if message.get("type") == "http.disconnect":
                gone.set()
            return message

        return await app({**scope, "client_gone": gone}, watched_receive, send)

    return application
