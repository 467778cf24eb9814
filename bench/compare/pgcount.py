"""A counting TCP proxy in front of PostgreSQL: SQL statements as the server receives them.

Both servers' SQL is counted the same way, from the wire: each client→server ``Query`` ('Q', the
simple protocol: one round trip) and ``Execute`` ('E', the extended protocol: one execution of a
parsed statement, prepared or not) message is one statement; BEGIN/COMMIT count when sent. Only the
SQL-count phase goes through it (a Python hop would slow the timed rounds); the servers timed
afterwards connect to PostgreSQL directly.

TLS cannot be parsed: connect through it with ``sslmode=disable`` (the proxy answers an SSLRequest
with 'N' itself, so a client that insists on TLS fails instead of being miscounted).
"""

from __future__ import annotations

import asyncio
import struct
import threading

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
COUNTED = {ord("Q"): "query", ord("E"): "execute"}


class StatementCounter:
    """``start()`` listens on 127.0.0.1 (a free port: ``.port``) and forwards to PostgreSQL at
    ``host``:``port`` (a host starting with "/" is a Unix socket directory); ``.statements`` is the
    running count; ``stop()`` closes everything."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.statements = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None

    def start(self) -> "StatementCounter":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close():
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _serve(self, client_reader, client_writer):
        host, port = self.upstream
        try:
            if host.startswith("/"):
                upstream_reader, upstream_writer = await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
            else:
                upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        back = asyncio.ensure_future(self._pump(upstream_reader, client_writer))
        try:
            await self._client_to_server(client_reader, client_writer, upstream_writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            upstream_writer.close()
            back.cancel()
            client_writer.close()

    async def _client_to_server(self, reader, client_writer, writer):
        # Start-up: untyped messages (length, then a code) until the StartupMessage itself.
        while True:
            head = await reader.readexactly(8)
            length, code = struct.unpack("!ii", head)
            rest = await reader.readexactly(length - 8)
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                client_writer.write(b"N")  # no encryption through the proxy
                await client_writer.drain()
                continue
            writer.write(head + rest)
            await writer.drain()
            break
        # Then typed messages: one type byte, a length that counts itself.
        while True:
            kind = await reader.readexactly(1)
            length = struct.unpack("!i", await reader.readexactly(4))[0]
            body = await reader.readexactly(length - 4)
            if kind[0] in COUNTED:
                self.statements += 1
            writer.write(kind + struct.pack("!i", length) + body)
            await writer.drain()
            if kind == b"X":  # Terminate
                return

    @staticmethod
    async def _pump(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
