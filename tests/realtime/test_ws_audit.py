"""Realtime audit: protocol edge cases, hub bookkeeping under churn, and events from outside a server."""

from __future__ import annotations

import asyncio
import os

import pytest

from feed import events, services as feed_services
from interactions import services as interaction_services
from schema.core.node import global_id
from schema.realtime.hub import get_hub
from tests.conftest import make_user
from tests.support.live_server import daphne  # noqa: F401 - the fixture
from tests.support.websockets import LEGACY, anyio_backend, db, sockets, subscribed, wait_until  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


async def subscribe(socket, op_id, query, variables=None):
    await socket.send({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})


def _layer_groups(hub):
    return dict(hub.layer._get_layer().groups)


async def test_hub_state_returns_to_empty_after_churn_mid_event(sockets):
    alice = await db(make_user, "alice")
    bob = await db(make_user, "bob")
    posts = [await db(feed_services.post_create, author=alice, body=f"post {index}") for index in range(3)]
    hub = get_hub()
    groups_before, joined_before, layer_before = set(hub.groups), set(hub.joined), _layer_groups(hub)

    queries = [
        ("subscription U($id: ID!) { postUpdated(postId: $id) { likeCount viewerHasLiked } }", True),
        ("subscription C($id: ID!) { commentAdded(postId: $id) { body } }", True),
        ("subscription { postCreated { body } }", False),
        ("subscription { postDeleted }", False),
        ("subscription { feedUpdated { node { body } } }", False),
        ("subscription { notificationReceived { __typename } }", False),
    ]
    stop = asyncio.Event()

    async def churn_events():
        index = 0
        while not stop.is_set():
            post = posts[index % len(posts)]
            await db(interaction_services.like_create, user=bob, post_id=post.pk)
            await db(interaction_services.like_delete, user=bob, post_id=post.pk)
            await db(feed_services.post_create, author=bob, body=f"churn {index}")
            index += 1

    producer = asyncio.create_task(churn_events())
    try:
        for round_ in range(6):
            opened = []
            for index in range(8):
                protocol = (LEGACY,) if index % 3 == 0 else None
                socket = await (sockets(protocol, user=alice) if protocol else sockets(user=alice))
                opened.append(socket)
                for number, (query, per_post) in enumerate(queries):
                    variables = {"id": global_id("Post", posts[number % 3].pk)} if per_post else None
                    op_id = f"{round_}-{index}-{number}"
                    if socket.subprotocol == LEGACY:
                        await socket.send({"id": op_id, "type": "start",
                                           "payload": {"query": query, "variables": variables or {}}})
                    else:
                        await subscribe(socket, op_id, query, variables)
            await subscribed(events.POSTS_CREATED, 16)  # postCreated and feedUpdated of 8 sockets
            await asyncio.sleep(0.3)  # events in flight
            for number, socket in enumerate(opened):
                if number % 2:
                    await socket.send({"id": f"{round_}-{number}-0", "type": "complete"})
                await socket.disconnect()  # abruptly, mid-event, with subscriptions running
    finally:
        stop.set()
        await producer

    def clean():
        return (set(hub.groups) <= groups_before and set(hub.joined) <= joined_before
                and _layer_groups(hub).keys() <= layer_before.keys() and not hub.keepalive_conns)

    await wait_until(clean, timeout=10, what="the hub's maps to empty")
    await asyncio.sleep(1)  # coalescing timers and workers finished
    assert clean(), (hub.groups, hub.joined, _layer_groups(hub))
    assert not hub._tasks


# --- events from outside a server (management command, worker): no event loop ------------------
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


# --- graphql-transport-ws edge cases ---------------------------------------------------------
@pytest.mark.parametrize("message", [
    {"id": "1", "type": "next", "payload": {"data": {}}},  # server-to-client messages
    {"id": "1", "type": "error", "payload": []},
    {"type": "connection_ack"},
    {"type": "ping", "payload": "not an object"},  # PROTOCOL.md: payload?: Record<string, unknown> | null
    {"type": "ping", "payload": [1]},
    {"type": "pong", "payload": 5},
])
async def test_messages_the_protocol_does_not_allow_close_4400(sockets, message):
    socket = await sockets()
    await socket.send(message)
    assert await socket.expect_close() == 4400


async def test_ping_with_a_null_payload_is_answered(sockets):
    socket = await sockets()
    await socket.send({"type": "ping", "payload": None})
    assert await socket.recv() == {"type": "pong"}
    await socket.send({"type": "pong", "payload": None})
    assert await socket.nothing()


async def test_an_error_while_executing_an_event_goes_to_next_with_errors(sockets):
    alice = await db(make_user, "alice")
    post = await db(feed_services.post_create, author=alice, body="counted")
    socket = await sockets()
    query = "subscription U($id: ID!) { postUpdated(postId: $id) { likeCount comments(first: 1000) { edges { cursor } } } }"
    await subscribe(socket, "u", query, {"id": global_id("Post", post.pk)})
    await subscribed(events.post_updated_group(post.pk))
    await db(interaction_services.like_create, user=alice, post_id=post.pk)
    message = await socket.recv()
    assert message["type"] == "next" and message["id"] == "u", message
    assert message["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # The subscription goes on.
    await db(interaction_services.like_delete, user=alice, post_id=post.pk)
    assert (await socket.recv())["type"] == "next"


@pytest.mark.parametrize("query, variables", [
    ("subscription { postDeleted @skip(if: true) }", {}),
    ("subscription S($s: Boolean!) { postDeleted @skip(if: $s) }", {"s": True}),
    ("subscription S($s: Boolean!) { ... on Subscription { postDeleted @include(if: $s) } }", {"s": False}),
])
async def test_a_subscription_whose_root_field_is_skipped_is_an_error_not_a_crash(sockets, query, variables):
    socket = await sockets()
    await subscribe(socket, "s", query, variables)
    message = await socket.recv()
    assert message["type"] == "error" and message["id"] == "s", message
    assert message["payload"][0]["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}  # the connection goes on


async def test_a_legacy_subscription_whose_root_field_is_skipped_is_an_error(sockets):
    socket = await sockets((LEGACY,))
    await socket.send({"id": "s", "type": "start", "payload": {
        "query": "subscription S($s: Boolean!) { postDeleted @skip(if: $s) }", "variables": {"s": True}}})
    message = await socket.recv()
    assert message["type"] == "data" and message["payload"]["errors"], message
    assert await socket.recv() == {"id": "s", "type": "complete"}


def test_a_root_field_skipped_by_a_variable_is_a_validation_error_over_http(gql):
    response = gql("subscription S($s: Boolean!) { postDeleted @skip(if: $s) }", {"s": True})
    # A request error like any invalid document (was a 500).
    assert response.status == 400 and response.error_codes() == ["GRAPHQL_VALIDATION_FAILED"], response.errors


async def test_a_job_that_raises_stop_iteration_fails_instead_of_hanging():
    from schema.realtime import executor
    from schema.realtime.executor import run_sync

    def leaky():
        return next(iter(()))

    try:
        with pytest.raises(RuntimeError, match="StopIteration"):
            await asyncio.wait_for(run_sync(leaky), 5)
    finally:
        await asyncio.to_thread(executor.shutdown)


async def test_a_subscription_with_nul_in_its_variables_is_refused_at_start(sockets):
    socket = await sockets()
    await subscribe(socket, "h", "subscription H($tag: String) { postCreated(hashtag: $tag) { id } }", {"tag": "a\x00b"})
    message = await socket.recv()
    assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT", message
