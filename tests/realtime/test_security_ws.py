"""Websocket connection_init with tokens that must not authenticate: closed 4403 (graphql-transport-ws)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest
from django.conf import settings
from graphql_jwt.shortcuts import create_refresh_token, get_token

from tests.conftest import make_user
from tests.support.websockets import Socket, anyio_backend, db, sockets  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


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


async def test_tokens_that_must_not_authenticate_close_4403(sockets):
    tokens = await db(_tokens)
    for name, token in tokens.items():
        socket = await sockets(init=False)
        await socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert await socket.expect_close() == 4403, name
