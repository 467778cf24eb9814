"""graphql-transport-ws at /graphql, the connection: subprotocol and origin, connection_init and the tokens
that must not authenticate, ping/pong and keepalive — through the whole ASGI stack."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest
from django.conf import settings
from graphql_jwt.shortcuts import create_refresh_token, get_token

from tests.conftest import make_user
from tests.support.websockets import (  # noqa: F401 - fixtures
    LEGACY, TRANSPORT, Closed, Socket, anyio_backend, db, sockets, subscribe)

# The server's threads see committed rows only: tests that need users commit them (transaction=True).
pytestmark = [pytest.mark.anyio, pytest.mark.django_db]
committed = pytest.mark.django_db(transaction=True)

VIEWER = "query Me { viewer { username } }"


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


def _tokens():
    alice = make_user("alice")
    now = datetime.now(timezone.utc)
    expired = jwt.encode({"username": "alice", "exp": now - timedelta(seconds=5), "origIat": int(now.timestamp())},
                         settings.SECRET_KEY, algorithm="HS256")
    forged = jwt.encode({"username": "alice", "exp": now + timedelta(minutes=5)}, "not-the-secret", algorithm="HS256")
    none_alg = jwt.encode({"username": "alice", "exp": now + timedelta(minutes=5)}, None, algorithm="none")
    refresh = str(create_refresh_token(alice))
    carl = make_user("carl")
    disabled = get_token(carl)
    carl.is_active = False
    carl.save(update_fields=["is_active"])
    return {"expired": expired, "forged": forged, "alg none": none_alg, "refresh token": refresh,
            "deactivated user": disabled}


@committed
async def test_tokens_that_must_not_authenticate_close_4403(sockets):
    tokens = await db(_tokens)
    for name, token in tokens.items():
        socket = await sockets(init=False)
        await socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert await socket.expect_close() == 4403, name


# --- ping / pong ---------------------------------------------------------------------------
async def test_ping_is_answered_with_pong_before_and_after_init(sockets):
    socket = await sockets(init=False)
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}
    await socket.init()
    await socket.send({"type": "ping", "payload": {"t": 1}})
    assert await socket.recv() == {"type": "pong", "payload": {"t": 1}}


async def test_ping_with_a_null_payload_is_answered(sockets):
    socket = await sockets()
    await socket.send({"type": "ping", "payload": None})
    assert await socket.recv() == {"type": "pong"}
    await socket.send({"type": "pong", "payload": None})
    assert await socket.nothing()


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
