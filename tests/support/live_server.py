"""The one live-server launcher: real daphne processes on free ports, for the tests and the benchmarks.

- ``start_daphne(env, port=None)`` starts ``daphne config.asgi:application`` on 127.0.0.1 with
  ``os.environ`` + ``env`` (DEBUG=0) and returns once ``/healthz`` answers; ``LiveServer.stop()`` ends it.
  bench/run.py and bench/ws_fanout.py use it (they put the project root on sys.path).
- For tests: the ``daphne`` fixture starts servers against the pytest test database (use it from
  transactional tests, ``transaction=True``: the servers must see committed rows); they are stopped,
  and their output shown on failure, when the test ends. ``wait_for_listeners`` waits until a
  channel-layer group has subscribers in the servers.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import quote
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]
PORTS = range(8100, 8200)
# Test and benchmark servers get budgets no workload reaches (tests of the limits pass their own).
GENEROUS_LIMITS = {
    "GRAPHQL_RATE_LIMIT_POINTS": "1000000000", "GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS": "1000000000",
    "GRAPHQL_MAX_CONCURRENT_REQUESTS": "10000", **{f"GRAPHQL_WRITE_LIMIT_{kind}": "1000000000"
                                                  for kind in ("POSTS", "COMMENTS", "LIKES", "FOLLOWS")},
}


def free_port() -> int:
    ports = list(PORTS)
    random.shuffle(ports)
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8100-8199")


def test_database_url() -> str:
    """The URL of the database this test run uses (pytest-django's test database)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += f":{quote(db['PASSWORD'], safe='')}"
    host = db["HOST"] or "127.0.0.1"
    # A Unix socket directory (the embedded server's) travels percent-encoded in the host part.
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


class LiveServer:
    """A daphne process: its port, URLs (``http``, ``ws``), output and memory; ``stop()`` ends it."""

    def __init__(self, port: int, process: subprocess.Popen, log):
        self.port = port
        self.process = process
        self.log = log
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}/graphql"

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def rss(self) -> int:
        """The process's resident memory in bytes (needs psutil)."""
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                # Longer than granian's own WEB_KILL_TIMEOUT (15 s) for its workers: the server, not this
                # kill, ends them (a killed main process would leave them behind).
                self.process.wait(25)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(command_for_port, env: dict | None = None, *, port: int | None = None, timeout: float = 60,
                 name: str = "the server") -> LiveServer:
    """``command_for_port(port)`` on 127.0.0.1:``port`` (a free one of 8100-8199 if None), with ``os.environ``
    + ``env`` (DEBUG=0); returns when /healthz answers 200, raises RuntimeError (with the output) if not."""
    full_env = {**GENEROUS_LIMITS, **os.environ}
    full_env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0", "PYTHONUNBUFFERED": "1",
                     **(env or {})})
    full_env.pop("TEST_DATABASE_NAME", None)
    last_error = None
    for _ in range(3 if port is None else 1):  # a port found free may be taken before the server binds it
        server_port = port or free_port()
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(command_for_port(server_port), cwd=BASE_DIR, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT)
        server = LiveServer(server_port, process, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"{server.http}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return server
            except OSError as error:
                last_error = error
            time.sleep(0.1)
        server.stop()
        last_error = RuntimeError(f"{name} on {server_port} did not start:\n{server.output()[-3000:]}")
    raise last_error


def start_daphne(env: dict | None = None, *, port: int | None = None, timeout: float = 60) -> LiveServer:
    """daphne (config.asgi) on 127.0.0.1:``port``: see start_server."""
    return start_server(lambda server_port: [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p",
                                             str(server_port), "config.asgi:application"],
                        env, port=port, timeout=timeout, name="daphne")


def start_http_tier(env: dict | None = None, *, processes: int = 2, timeout: float = 60) -> LiveServer:
    """The production HTTP tier (config/serve.py: granian, ``processes`` WSGI workers) on a free port, against
    this test run's database and Redis prefix; returns when /healthz answers 200."""
    from config.serve import http_command

    return start_server(lambda server_port: http_command("127.0.0.1", str(server_port), processes),
                        {"DATABASE_URL": test_database_url(), "REDIS_URL": settings.REDIS_URL,
                         "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX, **(env or {})},
                        timeout=timeout, name="the HTTP tier")


def start_test_daphne(extra_env: dict | None = None) -> LiveServer:
    """daphne against this test run's database and Redis prefix."""
    return start_daphne({"DATABASE_URL": test_database_url(), "REDIS_URL": settings.REDIS_URL,
                         "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX, **(extra_env or {})})


@pytest.fixture
def daphne(transactional_db):
    """A factory of daphne servers for this test; all are stopped at its end (their logs printed:
    pytest shows them when the test failed)."""
    servers: list[LiveServer] = []

    def start(**env) -> LiveServer:
        server = start_test_daphne(env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        print(f"--- daphne on {server.port} ---\n{server.output()[-3000:]}")


def group_listeners(group: str) -> int:
    """How many processes listen to a channel-layer group (Redis PUBSUB NUMSUB)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        name = f"{settings.REDIS_KEY_PREFIX}:ws__group__{group}"
        return dict(client.pubsub_numsub(name)).get(name.encode(), 0)
    finally:
        client.close()


def wait_for_listeners_sync(group: str, count: int = 1, timeout: float = 10) -> None:
    """Waits until ``count`` processes listen to ``group``: their subscriptions are live."""
    deadline = time.monotonic() + timeout
    while group_listeners(group) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} listener(s) on {group}")
        time.sleep(0.02)


async def wait_for_listeners(group: str, count: int = 1, timeout: float = 10) -> None:
    import asyncio

    deadline = time.monotonic() + timeout
    while group_listeners(group) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} listener(s) on {group}")
        await asyncio.sleep(0.02)
