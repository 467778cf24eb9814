"""The legacy graphql-ws subprotocol (subscriptions-transport-ws): every message, through the whole ASGI stack."""

from __future__ import annotations

import functools

import pytest
from asgiref.sync import sync_to_async

from common.events import publish
from schema.core.node import global_id
from tests.conftest import make_user
from schema.realtime.hub import get_hub
from tests.support.websockets import LEGACY, anyio_backend, db, sockets, subscribed, wait_until  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.django_db]
committed = pytest.mark.django_db(transaction=True)

VIEWER = "query Me { viewer { username } }"


@pytest.fixture
def legacy(sockets):
    """Opens graphql-ws sockets (the first `ka` after the ack is read)."""
    return functools.partial(sockets, (LEGACY,))


async def start(socket, op_id, query, variables=None):
    await socket.send({"id": op_id, "type": "start", "payload": {"query": query, "variables": variables or {}}})


async def test_init_ack_and_keepalives(legacy, settings):
    settings.REALTIME = {"KEEPALIVE_INTERVAL": 0.1}
    socket = await legacy()
    assert await socket.recv(2) == {"type": "ka"}
    assert await socket.recv(2) == {"type": "ka"}


@committed
async def test_token_in_connection_init_authenticates(legacy):
    alice = await db(make_user, "alice")
    socket = await legacy(user=alice)
    await start(socket, "1", VIEWER)
    assert await socket.recv() == {"id": "1", "type": "data", "payload": {"data": {"viewer": {"username": "alice"}}}}
    assert await socket.recv() == {"id": "1", "type": "complete"}


async def test_a_bad_token_gets_connection_error_and_is_closed(legacy):
    socket = await legacy(init=False)
    await socket.send({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})
    message = await socket.recv()
    assert message["type"] == "connection_error"
    assert "token" in message["payload"]["message"]
    assert await socket.expect_close() == 4403


async def test_start_before_init_is_an_error(legacy):
    socket = await legacy(init=False)
    await start(socket, "1", VIEWER)
    message = await socket.recv()
    assert message["type"] == "error" and message["id"] == "1"
    assert message["payload"]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_second_init_is_a_connection_error(legacy):
    socket = await legacy()
    await socket.send({"type": "connection_init"})
    assert (await socket.recv())["type"] == "connection_error"
    await start(socket, "1", VIEWER)  # the connection goes on
    assert (await socket.recv())["type"] == "data"


@committed
async def test_mutation(legacy):
    alice, bob = await db(make_user, "alice"), await db(make_user, "bob")
    socket = await legacy(user=alice)
    await start(socket, "m", "mutation F($id: ID!) { followUser(input: {userId: $id}) { user { followerCount } } }",
                {"id": global_id("User", bob.pk)})
    assert await socket.recv() == {"id": "m", "type": "data",
                                   "payload": {"data": {"followUser": {"user": {"followerCount": 1}}}}}
    assert await socket.recv() == {"id": "m", "type": "complete"}


@pytest.mark.parametrize("query, code", [
    ("{ viewer { nope } }", "GRAPHQL_VALIDATION_FAILED"),
    ("{", "GRAPHQL_PARSE_FAILED"),
    ("subscription { feedUpdated { cursor } }", "UNAUTHENTICATED"),
])
async def test_request_errors_come_as_data_with_errors_then_complete(legacy, query, code):
    socket = await legacy()
    await start(socket, "1", query)
    message = await socket.recv()
    assert message["type"] == "data" and message["id"] == "1"
    assert message["payload"]["errors"][0]["extensions"]["code"] == code
    assert await socket.recv() == {"id": "1", "type": "complete"}


@pytest.mark.parametrize("payload", [None, "query", {"variables": {}}, {"query": "{ viewer { id } }", "variables": 3}])
async def test_a_malformed_start_is_an_error(legacy, payload):
    socket = await legacy()
    await socket.send({"id": "1", "type": "start", "payload": payload})
    message = await socket.recv()
    assert message["type"] == "error" and message["id"] == "1"
    assert message["payload"]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_subscription_data_and_stop(legacy):
    socket = await legacy()
    await start(socket, "s", "subscription { postDeleted }")
    await subscribed("posts.deleted")
    await sync_to_async(publish)("post_deleted", post_id=7, author_id=1)
    assert await socket.recv() == {"id": "s", "type": "data", "payload": {"data": {"postDeleted": global_id("Post", 7)}}}
    await socket.send({"id": "s", "type": "stop"})
    assert await socket.recv() == {"id": "s", "type": "complete"}
    await sync_to_async(publish)("post_deleted", post_id=8, author_id=1)
    assert await socket.nothing(0.5)


async def test_start_with_an_id_in_use_replaces_that_operation(legacy):
    socket = await legacy()
    await start(socket, "s", "subscription { postDeleted }")
    await subscribed("posts.deleted")
    await start(socket, "s", f'subscription {{ postDeleted(postId: "{global_id("Post", 9)}") }}')
    # The replacement is subscribed once the hub holds it (starting it charges the budget: a few ms).
    def replaced():
        group = get_hub().groups.get("posts.deleted")
        return group is not None and any("postId" in sub.stream.document.loc.source.body for sub in group.subs)

    await wait_until(replaced, what="the replacement")
    await subscribed("posts.deleted")
    await sync_to_async(publish)("post_deleted", post_id=8, author_id=1)  # only the first wanted this one
    await sync_to_async(publish)("post_deleted", post_id=9, author_id=1)
    assert await socket.recv() == {"id": "s", "type": "data", "payload": {"data": {"postDeleted": global_id("Post", 9)}}}
    assert await socket.nothing(0.3)


async def test_stop_for_an_unknown_id_is_ignored(legacy):
    socket = await legacy()
    await socket.send({"id": "never", "type": "stop"})
    assert await socket.nothing()


@pytest.mark.parametrize("message", ["not json", "[]", '{"type": "subscribe", "id": "1"}', '{"type": "start"}',
                                     '{"type": "stop"}'])
async def test_unparsable_or_unknown_messages_get_connection_error_and_the_connection_stays(legacy, message):
    socket = await legacy()
    await socket.send(message)
    assert (await socket.recv())["type"] == "connection_error"
    await start(socket, "1", VIEWER)
    assert (await socket.recv())["type"] == "data"


async def test_connection_terminate_closes_the_socket(legacy):
    socket = await legacy()
    await socket.send({"type": "connection_terminate"})
    assert await socket.expect_close() == 1000


async def test_messages_over_the_size_limit_close_4400(legacy, settings):
    settings.REALTIME = {"MAX_MESSAGE_BYTES": 512}
    socket = await legacy()
    await start(socket, "1", "#" + "x" * 600 + "\n" + VIEWER)
    assert await socket.expect_close() == 4400


async def test_operations_per_connection_are_limited(legacy, settings):
    settings.REALTIME = {"MAX_OPERATIONS": 2}
    socket = await legacy()
    await start(socket, "a", "subscription { postDeleted }")
    await start(socket, "b", "subscription { postDeleted }")
    await subscribed("posts.deleted", 2)
    await start(socket, "c", "subscription { postDeleted }")
    message = await socket.recv()
    assert message["type"] == "error" and message["id"] == "c"
    assert message["payload"]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_legacy_subscription_whose_root_field_is_skipped_is_an_error(sockets):
    socket = await sockets((LEGACY,))
    await socket.send({"id": "s", "type": "start", "payload": {
        "query": "subscription S($s: Boolean!) { postDeleted @skip(if: $s) }", "variables": {"s": True}}})
    message = await socket.recv()
    assert message["type"] == "data" and message["payload"]["errors"], message
    assert await socket.recv() == {"id": "s", "type": "complete"}
