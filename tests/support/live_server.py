"""Real daphne processes for tests: started on free ports (8100-8199) against the pytest test database.

Use from transactional tests (``transaction=True``): the servers must see committed rows. They are
stopped, and their output shown on failure, when the test ends.
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

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_daphne(extra_env: dict | None = None, timeout: float = 60) -> LiveServer:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    })
    env.pop("TEST_DATABASE_NAME", None)
    last_error = None
    for _ in range(3):  # a port found free may be taken before daphne binds it
        port = free_port()
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        server = LiveServer(port, process, log)
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
        last_error = RuntimeError(f"daphne on {port} did not start:\n{server.output()[-3000:]}")
    raise last_error


@pytest.fixture
def daphne(transactional_db):
    """A factory of daphne servers for this test; all are stopped at its end (their logs printed:
    pytest shows them when the test failed)."""
    servers: list[LiveServer] = []

    def start(**env) -> LiveServer:
        server = start_daphne(env)
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
