"""Django's PostgreSQL backend with psycopg's C loader for ``timestamptz`` when the connection's zone is UTC.

Django registers a Python loader for ``timestamptz`` on every connection (``BaseTzLoader``: psycopg's Python
parser, then ``replace(tzinfo=...)``) so values come back in the connection's time zone. psycopg's own C
loader already returns them in the session's ``TimeZone``, which Django sets to ``TIME_ZONE`` on connect: with
UTC (this project's setting) both give the same aware ``datetime`` (``tzinfo`` is ``datetime.timezone.utc``),
and the C one takes a tenth of the time — on a page of 20 posts with authors and comments, ~100 timestamps,
a seventh of the request's CPU. Any other zone keeps Django's loader.

:meth:`DatabaseWrapper.statement_cursor`: Django's ``cursor()`` for a statement run on every request (common.prepared),
on the same psycopg cursor each time, whose loaders and dumpers (built per cursor) are then built once.

The health check (``CONN_HEALTH_CHECKS``, before a persistent connection's first use in each request) asks
the socket before it asks the server: :meth:`DatabaseWrapper.is_usable`.
"""

from __future__ import annotations

import datetime
import select

from django.db.backends.postgresql import base
from django.utils.asyncio import async_unsafe
from psycopg import pq
from psycopg.types.datetime import TimestamptzLoader

TIMESTAMPTZ = "timestamptz"


# psycopg cursors kept per connection for statement_cursor (one per statement text); beyond, they start over.
MAX_STATEMENT_CURSORS = 256


class DatabaseWrapper(base.DatabaseWrapper):
    def _utc(self) -> bool:
        return self.timezone is datetime.timezone.utc

    def _configure_connection(self, connection):
        commit = super()._configure_connection(connection)
        if self._utc() and connection.info.parameter_status("TimeZone") == "UTC":
            # Registering psycopg's class registers its C implementation (psycopg_binary) when installed.
            connection.adapters.register_loader(TIMESTAMPTZ, TimestamptzLoader)
        return commit

    def connect(self):
        self._statement_cursors = {}
        super().connect()

    def _close(self):
        self._statement_cursors = {}
        super()._close()

    @async_unsafe
    def statement_cursor(self, sql: str):
        """``cursor()`` (health check, connection, thread check, execute wrappers) for running ``sql`` — the same
        ``str`` object each time — on a psycopg cursor kept for it. psycopg builds a cursor's loaders (one per
        result column) and dumpers on each new cursor, and keeps them while it runs the same query object again:
        ~25 µs a statement. Not to be closed (nor used as a context manager): the next call reuses it."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        cursors = self.__dict__.get("_statement_cursors")
        if cursors is None:
            cursors = self._statement_cursors = {}
        raw = cursors.get(sql)
        if raw is None or raw.closed or raw.connection is not self.connection:
            if len(cursors) >= MAX_STATEMENT_CURSORS:
                cursors.clear()
            with self.wrap_database_errors:
                raw = cursors[sql] = self.create_cursor()
        return self._prepare_cursor(raw)

    def is_usable(self):
        """Django's check runs ``SELECT 1``: a round trip, on every request, to find what the socket already
        knows. An idle connection's server sends nothing unasked, so a socket with nothing to read and a
        connection psycopg holds for good is usable; anything to read (a server that is terminating — a
        restart, ``pg_terminate_backend``, an idle timeout: its FATAL message or the end of the stream — or a
        notice) gets Django's ``SELECT 1``, which tells. A server gone without a word (a host lost) is not
        seen by either: ``SELECT 1`` would hang as long as the first query does (``connect_timeout`` and
        the kernel's keepalive bound both)."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status == pq.TransactionStatus.IDLE:
            try:
                poller = select.poll()
                poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
                if not poller.poll(0):
                    return True
            except (OSError, ValueError):
                return False
        return super().is_usable()

    @async_unsafe
    def create_cursor(self, name=None):
        loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, base.Format.TEXT)
        if hasattr(loader, "timezone"):  # Django's loader: its own per-cursor zone check
            return super().create_cursor(name)
        # The C loader (see above): values come in the session's zone, which is this connection's.
        if not name:
            return self.connection.cursor()
        if self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            return base.ServerSideCursor(self.connection, name=name, scrollable=False,
                                         withhold=self.connection.autocommit)
        return self.connection.cursor(name, scrollable=False, withhold=self.connection.autocommit)
