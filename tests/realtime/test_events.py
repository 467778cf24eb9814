"""The event bus (common/events.py) from outside a server — a management command, a worker, no event loop:
an event reaches a live daphne, a sync publish is byte for byte a channel-layer group_send, and it goes to the
channel layer's Redis, not the cache's."""

from __future__ import annotations

import asyncio
import os

import pytest

from common import events
from tests.conftest import make_user
from tests.support.live_server import daphne  # noqa: F401 - the fixture
from tests.support.websockets import anyio_backend, db  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.mark.live
@pytest.mark.slow
async def test_an_event_from_a_management_command_reaches_a_live_daphne(daphne):  # noqa: F811
    import subprocess
    import sys

    from gql import Client, GraphQLRequest
    from gql.transport.websockets import WebsocketsTransport

    from tests.support.live_server import BASE_DIR, test_database_url, wait_for_listeners

    server = daphne()
    alice = await db(make_user, "alice")
    transport = WebsocketsTransport(url=server.ws, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                    connect_timeout=10, ack_timeout=10)
    async with Client(transport=transport) as session:
        received: list = []

        async def listen():
            async for result in session.subscribe(GraphQLRequest("subscription { postCreated { body } }")):
                received.append(result)
                return result

        listener = asyncio.ensure_future(listen())
        await wait_for_listeners(events.POSTS_CREATED)
        env = {**os.environ, "DATABASE_URL": await db(test_database_url), "DJANGO_SETTINGS_MODULE": "config.settings"}
        env.pop("TEST_DATABASE_NAME", None)
        code = ("import asyncio\n"
                "from feed import services\nfrom users.models import User\n"
                "try:\n    asyncio.get_running_loop()\n    raise SystemExit('a loop is running')\n"
                "except RuntimeError:\n    pass\n"
                f"services.post_create(author=User.objects.get(pk={alice.pk}), body='from a command')\n")
        done = await asyncio.to_thread(subprocess.run, [sys.executable, "manage.py", "shell", "-c", code],
                                       cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert await asyncio.wait_for(listener, 10) == {"postCreated": {"body": "from a command"}}


def _raw_messages(url: str, pattern: str):
    """A sync Redis pub/sub client listening to ``pattern`` (raw channel-layer wire messages)."""
    import redis

    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    pubsub.psubscribe(pattern)
    assert pubsub.get_message(timeout=2)["type"] == "psubscribe"
    return client, pubsub


def _next_raw(pubsub, timeout=3.0):
    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
    assert message is not None, "nothing was published"
    return message["channel"].decode(), message["data"]


def test_sync_publish_is_byte_for_byte_group_send(settings):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    client, pubsub = _raw_messages(settings.REDIS_URL, f"{prefix}__group__posts.deleted")
    try:
        events._send("post_deleted", {"post_id": 7, "author_id": 3})  # a thread without an event loop
        direct = _next_raw(pubsub)
        message = {"type": "domain.event", "group": "posts.deleted", "kind": "post_deleted",
                   "data": {"post_id": 7, "author_id": 3}}
        async_to_sync(get_channel_layer().group_send)("posts.deleted", message)
        assert direct == _next_raw(pubsub)
        assert direct[0] == f"{prefix}__group__posts.deleted"
        assert get_channel_layer().deserialize(direct[1]) == message
    finally:
        pubsub.close()
        client.close()


@pytest.fixture
def second_redis(tmp_path):
    """A second Redis server (on a port of this auditor's range): the channel layer's own."""
    import shutil
    import socket
    import subprocess
    import time

    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    for port in range(8600, 8650):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        break
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)


def test_sync_publish_goes_to_the_channel_layers_redis_not_the_caches(settings, second_redis):
    """CHANNEL_LAYERS may name another Redis than CACHES: events must go where subscribers listen."""
    prefix = "audit:ws"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [second_redis], "prefix": prefix}}}
    client, pubsub = _raw_messages(second_redis, f"{prefix}__group__*")
    try:
        events._send("post_deleted", {"post_id": 8, "author_id": 3})
        channel, _ = _next_raw(pubsub)
        assert channel == f"{prefix}__group__posts.deleted"
    finally:
        pubsub.close()
        client.close()
