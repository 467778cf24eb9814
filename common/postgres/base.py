"""Django's PostgreSQL backend with psycopg's C loader for ``timestamptz`` when the connection's zone is UTC.

Django registers a Python loader for ``timestamptz`` on every connection (``BaseTzLoader``: psycopg's Python
parser, then ``replace(tzinfo=...)``) so values come back in the connection's time zone. psycopg's own C
loader already returns them in the session's ``TimeZone``, which Django sets to ``TIME_ZONE`` on connect: with
UTC (this project's setting) both give the same aware ``datetime`` (``tzinfo`` is ``datetime.timezone.utc``),
and the C one takes a tenth of the time — on a page of 20 posts with authors and comments, ~100 timestamps,
a seventh of the request's CPU. Any other zone keeps Django's loader.
"""

from __future__ import annotations

import datetime

from django.db.backends.postgresql import base
from django.utils.asyncio import async_unsafe
from psycopg.types.datetime import TimestamptzLoader

TIMESTAMPTZ = "timestamptz"


class DatabaseWrapper(base.DatabaseWrapper):
    def _utc(self) -> bool:
        return self.timezone is datetime.timezone.utc

    def _configure_connection(self, connection):
        commit = super()._configure_connection(connection)
        if self._utc() and connection.info.parameter_status("TimeZone") == "UTC":
            # Registering psycopg's class registers its C implementation (psycopg_binary) when installed.
            connection.adapters.register_loader(TIMESTAMPTZ, TimestamptzLoader)
        return commit

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
