"""Helpers for websocket tests: a Channels WebsocketCommunicator speaking JSON, and waiting for the hub."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from graphql_jwt.shortcuts import get_token

from config.asgi import application
from schema.realtime import executor
from schema.realtime.hub import get_hub

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"


class Closed(Exception):
    def __init__(self, code):
        super().__init__(f"closed with {code}")
        self.code = code


class Socket:
    """One websocket to /graphql through the whole ASGI stack (origin check, router, consumer)."""

    def __init__(self, subprotocols=(TRANSPORT,), headers=None, path="/graphql"):
        self.comm = WebsocketCommunicator(application, path, headers=headers or [],
                                          subprotocols=list(subprotocols) if subprotocols else None)
        self.subprotocol = None
        self.close_code = None
        self.received_chars = 0

    async def connect(self):
        connected, self.subprotocol = await self.comm.connect(timeout=5)
        return connected

    async def send(self, message):
        await self.comm.send_to(text_data=message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout=5.0):
        """The next message as a dict; raises Closed when the server closed the socket instead."""
        output = await self.comm.receive_output(timeout)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code", 1000)
            raise Closed(self.close_code)
        assert output["type"] == "websocket.send", output
        self.received_chars += len(output["text"])
        return json.loads(output["text"])

    async def expect_close(self, timeout=5.0):
        """Reads until the server closes; returns the close code (messages before it are skipped)."""
        while True:
            try:
                await self.recv(timeout)
            except Closed as closed:
                return closed.code

    async def nothing(self, timeout=0.3) -> bool:
        return await self.comm.receive_nothing(timeout)

    async def init(self, user=None, token=None, payload=None):
        if user is not None:
            token = await sync_to_async(get_token)(user)
        if payload is None:
            payload = {"authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        message = await self.recv()
        assert message["type"] == "connection_ack", message
        return message

    async def disconnect(self):
        try:
            await self.comm.disconnect(timeout=5)
        except Exception:  # noqa: BLE001 - already gone
            pass


async def wait_until(predicate, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def subscribe(socket, op_id, query, variables=None, operation_name=None):
    """Sends a graphql-transport-ws `subscribe` message (any operation, not only subscriptions)."""
    payload = {"query": query, "variables": variables or {}}
    if operation_name:
        payload["operationName"] = operation_name
    await socket.send({"id": op_id, "type": "subscribe", "payload": payload})


async def subscribed(group: str, count: int = 1):
    """Waits until this process's hub has ``count`` subscriptions on ``group`` and has joined it."""
    hub = get_hub()
    await wait_until(lambda: hub.subscriptions(group) >= count and group in hub.joined,
                     what=f"{count} subscription(s) on {group}")


def _run_and_close(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    finally:
        connection.close()


async def db(fn, *args, **kwargs):
    """Runs ORM code from an async test (in a thread), closing that thread's connection after."""
    return await sync_to_async(_run_and_close)(fn, *args, **kwargs)


# --- fixtures (import them into a test module to use them) ----------------------------------
@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def sockets():
    """Opens sockets: ``await sockets(subprotocols, init=True, user=None, headers=None)``.

    At the end all are closed and the websocket layer's threads stopped (their database
    connections closed).

    ``init`` sends connection_init (with ``user``'s token) and expects the ack (and, for the legacy
    protocol, the first ``ka``).
    """
    opened = []

    async def open_socket(subprotocols=(TRANSPORT,), *, init=True, user=None, headers=None):
        socket = Socket(subprotocols, headers=headers)
        opened.append(socket)
        assert await socket.connect()
        if init:
            await socket.init(user=user)
            if socket.subprotocol == LEGACY:
                assert await socket.recv() == {"type": "ka"}
        return socket

    yield open_socket
    for socket in opened:
        await socket.disconnect()
    await sync_to_async(executor.shutdown, thread_sensitive=False)()
