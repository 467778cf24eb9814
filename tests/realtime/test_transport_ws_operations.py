"""graphql-transport-ws at /graphql, the operations: subscribe / next / error / complete, invalid messages,
errors while an operation runs — through the whole ASGI stack."""

from __future__ import annotations

import asyncio
import json

import pytest

from common import events
from feed import services as feed_services
from interactions import services as interaction_services
from schema.core.node import global_id
from schema.realtime import operations
from tests.conftest import make_user
from tests.support.websockets import anyio_backend, db, sockets, subscribe, subscribed  # noqa: F401 - fixtures
from users.models import Follow

# The server's threads see committed rows only: tests that need users commit them (transaction=True).
pytestmark = [pytest.mark.anyio, pytest.mark.django_db]
committed = pytest.mark.django_db(transaction=True)

VIEWER = "query Me { viewer { username } }"


# --- subscribe / next / error / complete ---------------------------------------------------
async def test_subscribe_before_ack_closes_4401(sockets):
    socket = await sockets(init=False)
    await subscribe(socket, "1", VIEWER)
    assert await socket.expect_close() == 4401


@committed
async def test_mutation_over_the_socket(sockets):
    alice, bob = await db(make_user, "alice"), await db(make_user, "bob")
    from schema.core.node import global_id

    socket = await sockets(user=alice)
    await subscribe(socket, "m", "mutation F($id: ID!) { followUser(input: {userId: $id}) "
                                 "{ user { username followerCount } errors { code } } }",
                    {"id": global_id("User", bob.pk)})
    message = await socket.recv()
    assert message == {"id": "m", "type": "next", "payload": {"data": {"followUser": {
        "user": {"username": "bob", "followerCount": 1}, "errors": []}}}}
    assert await socket.recv() == {"id": "m", "type": "complete"}
    assert await db(lambda: Follow.objects.filter(follower=alice, followee=bob).exists())


async def test_anonymous_mutation_is_unauthenticated_in_the_result(sockets):
    socket = await sockets()
    await subscribe(socket, "m", 'mutation { followUser(input: {userId: "VXNlcjox"}) { errors { code } } }')
    message = await socket.recv()
    assert message["type"] == "next"
    assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await socket.recv())["type"] == "complete"


@pytest.mark.parametrize("query, variables, code", [
    ("{ viewer { nope } }", {}, "GRAPHQL_VALIDATION_FAILED"),
    ("{ viewer { ", {}, "GRAPHQL_PARSE_FAILED"),
    ("query Q($n: Int!) { users(first: $n) { edges { cursor } } }", {"n": "ten"}, "BAD_USER_INPUT"),
    ("subscription S($p: ID!) { postUpdated(postId: $p) { id } }", {}, "BAD_USER_INPUT"),
    ('subscription { postUpdated(postId: "bm9wZQ==") { id } }', {}, "BAD_USER_INPUT"),
    ("subscription { feedUpdated { cursor } }", {}, "UNAUTHENTICATED"),
    ("subscription { notificationReceived { id } }", {}, "UNAUTHENTICATED"),
    ("query A { viewer { id } } query B { viewer { id } }", {}, "BAD_USER_INPUT"),
])
async def test_operations_that_cannot_start_get_an_error_message(sockets, query, variables, code):
    socket = await sockets()
    await subscribe(socket, "x", query, variables)
    message = await socket.recv()
    assert message["type"] == "error" and message["id"] == "x", message
    assert isinstance(message["payload"], list)
    assert message["payload"][0]["extensions"]["code"] == code
    assert await socket.nothing()  # no complete after an error
    # The id is free again, the connection fine.
    await subscribe(socket, "x", VIEWER)
    assert (await socket.recv())["type"] == "next"


async def test_duplicate_active_id_closes_4409_and_a_completed_id_may_be_reused(sockets):
    socket = await sockets()
    await subscribe(socket, "s", "subscription { postDeleted }")
    await subscribed("posts.deleted")
    await socket.send({"id": "s", "type": "complete"})
    await subscribe(socket, "s", "subscription { postDeleted }")  # reusing a completed id is fine
    await subscribed("posts.deleted")
    assert await socket.nothing()
    await subscribe(socket, "s", VIEWER)
    assert await socket.expect_close() == 4409


async def test_complete_for_an_unknown_id_is_ignored(sockets):
    socket = await sockets()
    await socket.send({"id": "never", "type": "complete"})
    assert await socket.nothing()


async def test_operations_per_connection_are_limited(sockets, settings):
    settings.REALTIME = {"MAX_OPERATIONS": 3}
    socket = await sockets()
    for index in range(3):
        await subscribe(socket, str(index), "subscription { postDeleted }")
    await subscribed("posts.deleted", 3)
    await subscribe(socket, "3", "subscription { postDeleted }")
    message = await socket.recv()
    assert message["type"] == "error" and message["id"] == "3"
    assert message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    await socket.send({"id": "0", "type": "complete"})
    await subscribe(socket, "3", VIEWER)
    assert (await socket.recv())["type"] == "next"


# --- invalid messages ----------------------------------------------------------------------
@pytest.mark.parametrize("message", [
    "not json",
    "[1, 2]",
    '{"payload": {}}',
    '{"type": 7}',
    '{"type": "start", "id": "1", "payload": {"query": "{ viewer { id } }"}}',
    '{"type": "subscribe", "payload": {"query": "{ viewer { id } }"}}',
    '{"type": "subscribe", "id": "", "payload": {"query": "{ viewer { id } }"}}',
    '{"type": "subscribe", "id": "1"}',
    '{"type": "subscribe", "id": "1", "payload": {"variables": {}}}',
    '{"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { id } }", "variables": [1]}}',
    '{"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { id } }", "operationName": 3}}',
    '{"type": "complete"}',
])
async def test_invalid_messages_close_4400(sockets, message):
    socket = await sockets()
    await socket.send(message)
    assert await socket.expect_close() == 4400


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


async def test_binary_frames_close_4400(sockets):
    socket = await sockets()
    await socket.comm.send_to(bytes_data=b'{"type": "ping"}')
    assert await socket.expect_close() == 4400


async def test_messages_over_the_size_limit_close_4400(sockets, settings):
    settings.REALTIME = {"MAX_MESSAGE_BYTES": 1024}
    socket = await sockets()
    padding = "#" + "x" * 1100 + "\n"
    await subscribe(socket, "1", padding + VIEWER)
    assert await socket.expect_close() == 4400
    # Just under the limit is fine (a multi-byte character counts its UTF-8 bytes).
    socket = await sockets()
    query = "#" + "é" * 400 + "\n" + VIEWER  # 800 bytes of UTF-8
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}, ensure_ascii=False))
    assert (await socket.recv())["type"] == "next"
    socket = await sockets()
    query = "#" + "é" * 520 + "\n" + VIEWER  # 520 characters, but 1,040 bytes
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}, ensure_ascii=False))
    assert await socket.expect_close() == 4400


async def test_an_unexpected_failure_closes_4500(sockets, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(operations, "start", boom)
    socket = await sockets()
    await subscribe(socket, "1", VIEWER)
    assert await socket.expect_close() == 4500


async def test_complete_while_a_query_runs_suppresses_its_result(sockets, monkeypatch):
    started = asyncio.Event()
    release = asyncio.Event()
    real_start = operations.start
    loop = asyncio.get_running_loop()

    def slow_start(*args, **kwargs):
        loop.call_soon_threadsafe(started.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(5)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(operations, "start", slow_start)
    socket = await sockets()
    await subscribe(socket, "q", VIEWER)
    await asyncio.wait_for(started.wait(), 5)
    await socket.send({"id": "q", "type": "complete"})
    await asyncio.sleep(0.05)
    release.set()
    assert await socket.nothing(0.5)


# --- errors while running ------------------------------------------------------------------
@committed
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


async def test_a_subscription_with_nul_in_its_variables_is_refused_at_start(sockets):
    socket = await sockets()
    await subscribe(socket, "h", "subscription H($tag: String) { postCreated(hashtag: $tag) { id } }", {"tag": "a\x00b"})
    message = await socket.recv()
    assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT", message
