"""An open websocket of an ended session, or of a deactivated or deleted account, is closed with 4403 within
seconds and its private streams stop, on both subprotocols (schema/realtime/sessions.py).

Transactional tests: the events go out after commit.
"""

from __future__ import annotations

import time

import pytest

from common import events
from schema.core.auth import access_token
from schema.realtime.hub import get_hub
from schema.realtime.sessions import get_guard
from tests.conftest import make_user
from tests.support.websockets import LEGACY, TRANSPORT, anyio_backend, db, sockets, wait_until  # noqa: F401
from users import sessions
from users.models import User
from users.services import user_delete

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

NOTIFICATIONS = "subscription { notificationReceived { kind } }"
PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])


def logged_in(username):
    user = make_user(username)
    session = sessions.session_start(user)
    return user, session, access_token(user, session)


async def open_subscribed(sockets, protocol, token, user):
    socket = await sockets((protocol,), init=False)
    await socket.init(token=token)
    if protocol == LEGACY:
        assert await socket.recv() == {"type": "ka"}
    kind = "subscribe" if protocol == TRANSPORT else "start"
    await socket.send({"id": "n", "type": kind, "payload": {"query": NOTIFICATIONS}})
    group = events.notifications_group(user.pk)
    hub = get_hub()
    await wait_until(lambda: hub.subscriptions(group) >= 1 and group in hub.joined, what="the subscription")
    await wait_until(lambda: get_guard().watching(user.pk), what="the sessions group")
    return socket


async def closed_within(socket, seconds):
    started = time.monotonic()
    code = await socket.expect_close(timeout=seconds)
    return code, time.monotonic() - started


@PROTOCOLS
async def test_logout_closes_that_sessions_sockets_only(sockets, protocol):
    alice, session, token = await db(logged_in, "alice")
    other_token = await db(lambda: access_token(alice, sessions.session_start(alice)))
    socket = await open_subscribed(sockets, protocol, token, alice)
    other = await open_subscribed(sockets, protocol, other_token, alice)

    await db(sessions.refresh_token_revoke, session.token)
    code, elapsed = await closed_within(socket, 3)
    assert code == 4403 and elapsed < 2
    assert get_hub().subscriptions(events.notifications_group(alice.pk)) == 1  # the other socket's
    assert await other.nothing(0.3)  # another login of the same account stays open


@PROTOCOLS
async def test_a_replayed_refresh_token_closes_the_sessions_sockets(sockets, protocol):
    alice, session, token = await db(logged_in, "alice")
    socket = await open_subscribed(sockets, protocol, token, alice)
    await db(sessions.session_rotate, session.token)
    assert await socket.nothing(0.3)  # a rotation is no reason to close
    with pytest.raises(sessions.InvalidRefreshToken):
        await db(sessions.session_rotate, session.token)
    assert (await closed_within(socket, 3))[0] == 4403


@PROTOCOLS
async def test_deactivating_or_deleting_the_account_closes_its_sockets(sockets, protocol):
    alice, _, token = await db(logged_in, "alice")
    bob, _, bob_token = await db(logged_in, "bob")
    socket = await open_subscribed(sockets, protocol, token, alice)
    bob_socket = await open_subscribed(sockets, protocol, bob_token, bob)

    def deactivate():
        alice.is_active = False
        alice.save(update_fields=["is_active"])

    await db(deactivate)
    assert (await closed_within(socket, 3))[0] == 4403
    assert get_hub().subscriptions(events.notifications_group(alice.pk)) == 0  # its private stream stopped

    await db(lambda: user_delete(User.objects.get(pk=bob.pk)))
    assert (await closed_within(bob_socket, 3))[0] == 4403


async def test_the_periodic_recheck_catches_what_sends_no_event(sockets, settings):
    settings.REALTIME = {"AUTH_RECHECK_INTERVAL": 0.2}
    alice, _, token = await db(logged_in, "alice")
    bob, bob_session, bob_token = await db(logged_in, "bob")
    carol, _, carol_token = await db(logged_in, "carol")
    socket = await open_subscribed(sockets, TRANSPORT, token, alice)
    bob_socket = await open_subscribed(sockets, LEGACY, bob_token, bob)
    carol_socket = await open_subscribed(sockets, TRANSPORT, carol_token, carol)

    await db(lambda: User.objects.filter(pk=alice.pk).update(is_active=False))  # no signal, no event
    # A session ended while its event was lost: only the denylist says so.
    await db(lambda: sessions._redis().set(sessions._denylist_key(bob_session.session), "1", ex=60))
    assert (await closed_within(socket, 3))[0] == 4403
    assert (await closed_within(bob_socket, 3))[0] == 4403
    assert await carol_socket.nothing(0.5)


async def test_a_socket_that_closes_is_no_longer_watched(sockets):
    alice, _, token = await db(logged_in, "alice")
    socket = await open_subscribed(sockets, TRANSPORT, token, alice)
    guard = get_guard()
    await socket.disconnect()
    await wait_until(lambda: alice.pk not in guard.by_user, what="the socket forgotten")
    await wait_until(lambda: not guard.watching(alice.pk), what="the group left")


async def test_anonymous_sockets_are_not_watched(sockets):
    socket = await sockets((TRANSPORT,))
    await socket.send({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
    assert (await socket.recv())["type"] == "next"
    assert get_guard().by_user == {} and get_guard().joined == set()


# --- the same token checks and login limits over websockets ---------------------------------------
@PROTOCOLS
async def test_connection_init_refuses_an_ended_session_and_bad_claims(sockets, protocol):
    import jwt
    from django.conf import settings

    alice, session, token = await db(logged_in, "alice")
    await db(sessions.session_end, session.session, alice.pk)
    bad_claims = jwt.encode({"sub": str(alice.pk), "username": {"x": 1}, "jti": "j", "exp": 9999999999},
                            settings.SECRET_KEY, algorithm="HS256")
    no_exp = jwt.encode({"sub": str(alice.pk), "username": "alice", "jti": "j"}, settings.SECRET_KEY,
                        algorithm="HS256")
    for bad in (token, bad_claims, no_exp):
        socket = await sockets((protocol,), init=False)
        await socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {bad}"}})
        assert await socket.expect_close() == 4403


async def test_logins_over_a_websocket_are_throttled_and_counted_by_address(sockets, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from tests.support.websockets import Socket

    await db(make_user, "alice")
    socket = Socket((TRANSPORT,))
    socket.comm.scope["client"] = ("203.0.113.5", 40000)  # as daphne gives it
    assert await socket.connect()
    await socket.init()
    query = 'mutation { tokenAuth(username: "alice", password: "wrong") { token } }'
    codes = []
    for index in range(6):
        await socket.send({"id": str(index), "type": "subscribe", "payload": {"query": query}})
        message = await socket.recv()
        codes.append(message["payload"]["errors"][0]["extensions"]["code"])
        await socket.recv()  # complete
    assert codes == ["UNAUTHENTICATED"] * 5 + ["RATE_LIMITED"]
    redis = sessions._redis()
    assert await db(redis.hget, f"{settings.REDIS_KEY_PREFIX}:auth:fail:a:203.0.113.5", "n") == b"5"

    aliased = "mutation { " + " ".join(
        f'a{i}: tokenAuth(username: "alice", password: "g{i}") {{ token }}' for i in range(100)) + " }"
    await socket.send({"id": "many", "type": "subscribe", "payload": {"query": aliased}})
    message = await socket.recv()
    assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    await socket.disconnect()
