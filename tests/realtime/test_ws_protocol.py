"""graphql-transport-ws at /graphql: every message and close code, through the whole ASGI stack."""

from __future__ import annotations

import asyncio
import json

import pytest

from schema.realtime import operations
from tests.conftest import make_user
from tests.support.websockets import LEGACY, TRANSPORT, Closed, Socket, anyio_backend, db, sockets, subscribed  # noqa: F401
from users.models import Follow

# The server's threads see committed rows only: tests that need users commit them (transaction=True).
pytestmark = [pytest.mark.anyio, pytest.mark.django_db]
committed = pytest.mark.django_db(transaction=True)

VIEWER = "query Me { viewer { username } }"


async def subscribe(socket, op_id, query, variables=None, operation_name=None):
    payload = {"query": query, "variables": variables or {}}
    if operation_name:
        payload["operationName"] = operation_name
    await socket.send({"id": op_id, "type": "subscribe", "payload": payload})


# --- handshake -----------------------------------------------------------------------------
async def test_subprotocol_is_chosen_from_the_offer(sockets):
    socket = await sockets((TRANSPORT,), init=False)
    assert socket.subprotocol == TRANSPORT
    both = await sockets((LEGACY, TRANSPORT), init=False)
    assert both.subprotocol == TRANSPORT  # the current protocol wins when both are offered
    legacy = await sockets((LEGACY,), init=False)
    assert legacy.subprotocol == LEGACY


async def test_without_a_known_subprotocol_the_socket_is_closed_4406(sockets):
    for offer in ((), ("graphql-subscriptions-ws",)):
        socket = await sockets(offer, init=False)
        assert await socket.expect_close() == 4406


async def test_origin_policy(sockets):
    # Browsers send Origin: this site's hosts are let in, other sites are refused at the handshake.
    ok = Socket(headers=[(b"origin", b"http://127.0.0.1:8000")])
    assert await ok.connect()
    await ok.disconnect()
    foreign = Socket(headers=[(b"origin", b"https://evil.example")])
    assert not await foreign.connect()
    # Clients that are not browsers send no Origin: they carry their token explicitly.
    await sockets(init=False)


# --- connection_init -----------------------------------------------------------------------
async def test_connection_init_is_acknowledged_and_queries_run_anonymously(sockets):
    socket = await sockets()
    await subscribe(socket, "1", VIEWER)
    assert await socket.recv() == {"id": "1", "type": "next", "payload": {"data": {"viewer": None}}}
    assert await socket.recv() == {"id": "1", "type": "complete"}


@committed
async def test_token_in_connection_init_authenticates(sockets):
    alice = await db(make_user, "alice")
    socket = await sockets(user=alice)
    await subscribe(socket, "me", VIEWER)
    assert (await socket.recv())["payload"] == {"data": {"viewer": {"username": "alice"}}}


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Token abc", "Bearer a b", 42])
async def test_a_bad_token_is_refused_4403(sockets, authorization):
    socket = await sockets(init=False)
    await socket.send({"type": "connection_init", "payload": {"authorization": authorization}})
    assert await socket.expect_close() == 4403


@committed
async def test_the_authorization_key_is_case_insensitive(sockets):
    alice = await db(make_user, "alice")
    from graphql_jwt.shortcuts import get_token

    token = await db(get_token, alice)
    socket = await sockets(init=False)
    await socket.init(payload={"Authorization": f"Bearer {token}"})
    await subscribe(socket, "me", VIEWER)
    assert (await socket.recv())["payload"]["data"]["viewer"]["username"] == "alice"


async def test_init_timeout_closes_4408(sockets, settings):
    settings.REALTIME = {"CONNECTION_INIT_TIMEOUT": 0.2}
    socket = await sockets(init=False)
    assert await socket.nothing(0.1)
    assert await socket.expect_close(2) == 4408


async def test_a_second_init_closes_4429(sockets):
    socket = await sockets()
    await socket.send({"type": "connection_init"})
    assert await socket.expect_close() == 4429


async def test_init_payload_must_be_an_object(sockets):
    socket = await sockets(init=False)
    await socket.send({"type": "connection_init", "payload": "token"})
    assert await socket.expect_close() == 4400


async def test_init_payload_may_be_null_or_left_out(sockets):
    for message in ({"type": "connection_init", "payload": None}, {"type": "connection_init"}):
        socket = await sockets(init=False)
        await socket.send(message)
        assert (await socket.recv())["type"] == "connection_ack"


# --- ping / pong ---------------------------------------------------------------------------
async def test_ping_is_answered_with_pong_before_and_after_init(sockets):
    socket = await sockets(init=False)
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}
    await socket.init()
    await socket.send({"type": "ping", "payload": {"t": 1}})
    assert await socket.recv() == {"type": "pong", "payload": {"t": 1}}


async def test_unsolicited_pong_is_ignored(sockets):
    socket = await sockets()
    await socket.send({"type": "pong"})
    await socket.send({"type": "pong", "payload": {"x": 1}})
    assert await socket.nothing()
    await socket.send({"type": "ping"})
    assert (await socket.recv())["type"] == "pong"


BIG_ANSWER = "{ __type(name: \"Post\") { fields { name description } } }"  # some 4,000 characters


async def test_server_pings_a_client_that_lags_and_closes_one_that_never_pongs_4503(sockets, settings):
    settings.REALTIME = {"LAG_PING_BYTES": 300, "LAG_MAX_BYTES": 6000}
    socket = await sockets()
    pinged = False
    for index in range(50):
        await subscribe(socket, str(index), BIG_ANSWER)
        try:
            while True:
                message = await socket.recv()
                if message["type"] == "ping":
                    assert message["payload"]["seq"] >= 1
                    pinged = True  # ... and not answered
                if message["type"] == "complete":
                    break
        except Closed as closed:
            assert closed.code == 4503
            assert pinged
            assert socket.received_chars > 6000  # more than the hard limit went out unconfirmed
            return
    pytest.fail("a client that never answers pings was never closed")


async def test_a_client_that_answers_pings_is_never_closed(sockets, settings):
    # A client reading and answering its pings stays well below the limit.
    settings.REALTIME = {"LAG_PING_BYTES": 300, "LAG_MAX_BYTES": 16000}
    socket = await sockets()
    pings = 0
    for index in range(40):
        await subscribe(socket, str(index), BIG_ANSWER)
        while True:
            message = await socket.recv()
            if message["type"] == "ping":
                pings += 1
                await socket.send({"type": "pong", "payload": message["payload"]})
            if message["type"] == "complete":
                break
    assert pings >= 5


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
