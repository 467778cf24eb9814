"""Websocket abuse, both subprotocols: the init timeout, bad and oversized frames, slow readers, a fair share
of the executor per connection (issue 9, D11-D14) — in-process through the ASGI stack, and against a real
daphne where only daphne can tell (its write buffer, its frame limit, its HTTP parser)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket as sockets_module
import struct
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from schema.realtime import operations
from schema.realtime.wire import BadFrame, TooDeep, decode, nesting_depth
from tests.support.live_server import daphne  # noqa: F401 - the fixture
from tests.support.websockets import LEGACY, TRANSPORT, anyio_backend, sockets, subscribe  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.django_db]
live = [pytest.mark.live, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NESTED_40KB = "[" * 20_000 + "]" * 20_000
INTROSPECTION = "{ __schema { types { name description fields { name description args { name } } } } }"


def start_message(protocol, op_id, query):
    kind = "subscribe" if protocol == TRANSPORT else "start"
    return {"id": op_id, "type": kind, "payload": {"query": query}}


# --- decoding ---------------------------------------------------------------------------------
def test_nesting_is_measured_without_recursion_and_ignores_strings():
    assert nesting_depth('{"a": [1, {"b": "[[[[{{{"}]}') == 3
    assert nesting_depth("[" * 100_000) == 100_000
    with pytest.raises(TooDeep):
        decode(NESTED_40KB, 32)
    with pytest.raises(BadFrame):
        decode('{"type": ', 32)
    assert decode('{"type": "x", "payload": {"a": [[["deep enough"]]]}}', 32)["type"] == "x"


# --- in-process: both protocols -----------------------------------------------------------------
@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_socket_without_connection_init_is_closed_4408(sockets, settings, protocol):
    settings.REALTIME = {"CONNECTION_INIT_TIMEOUT": 0.2}
    socket = await sockets((protocol,), init=False)
    started = time.monotonic()
    assert await socket.expect_close(3) == 4408
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_a_deeply_nested_frame_is_closed_4400_not_1011(sockets, protocol):
    socket = await sockets((protocol,))
    await socket.send(NESTED_40KB)
    assert await socket.expect_close() == 4400


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
async def test_one_sockets_heavy_operations_do_not_starve_another_sockets_query(sockets, monkeypatch, settings,
                                                                               protocol):
    """12 slow operations on one socket (0.3 s each) against 4 executor threads: without a per-connection
    share they would hold every thread for ~0.9 s; with 2 at a time the other socket answers at once."""
    settings.REALTIME = {"EXECUTOR_THREADS": 4, "OPERATION_CONCURRENCY": 2}
    real_start = operations.start
    running = {"now": 0, "most": 0}
    lock = threading.Lock()

    def start(schema, viewer, query, *args, **kwargs):
        if "heavy" in query:
            with lock:
                running["now"] += 1
                running["most"] = max(running["most"], running["now"])
            time.sleep(0.3)
            with lock:
                running["now"] -= 1
        return real_start(schema, viewer, query, *args, **kwargs)

    monkeypatch.setattr(operations, "start", start)
    greedy, other = await sockets((protocol,)), await sockets((protocol,))
    for i in range(12):
        await greedy.send(start_message(protocol, f"h{i}", "query heavy { __typename }"))
    await asyncio.sleep(0.1)  # the heavy ones are queued
    asked = time.monotonic()
    await other.send(start_message(protocol, "q", "{ __typename }"))
    message = await other.recv()
    waited = time.monotonic() - asked
    assert message["id"] == "q" and message["payload"] == {"data": {"__typename": "Query"}}
    assert waited < 0.25, f"the trivial query waited {waited:.2f} s"
    # The greedy socket still gets all its answers, two at a time.
    answered = []
    while len(answered) < 12:
        reply = await greedy.recv(5)
        if reply["type"] in ("next", "data"):
            answered.append(reply["id"])
    assert running["most"] == 2
    assert sorted(answered) == sorted(f"h{i}" for i in range(12))


# --- a real daphne ------------------------------------------------------------------------------
def _frame(text: str) -> bytes:
    data, mask = text.encode(), os.urandom(4)
    n = len(data)
    head = b"\x81" + (bytes([0x80 | n]) if n < 126 else
                      bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                      bytes([0x80 | 127]) + struct.pack(">Q", n))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def _raw(port: int, request: bytes) -> bytes:
    with sockets_module.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        data = b""
        while chunk := client.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
@pytest.mark.live
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_live_frames_over_the_limits_close_with_a_close_frame(daphne, protocol):  # noqa: F811
    server = daphne()
    for frame, code in ((NESTED_40KB, 4400), ("x" * 200 * 1024, 4400), ("x" * 2 * 1024 * 1024, 1009)):
        with connect(server.ws, subprotocols=[protocol], max_size=None, open_timeout=10) as ws:
            ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(ws.recv(timeout=5))["type"] == "connection_ack"
            ws.send(frame)
            with pytest.raises(ConnectionClosed):
                while True:
                    ws.recv(timeout=5)
            # A close frame came (not a dropped connection): its code is known.
            assert ws.close_code == code, (len(frame), ws.close_code)


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_live_oversized_http_heads_are_answered_414_and_431(daphne):  # noqa: F811
    server = daphne()
    long_url = b"GET /graphql?query=" + b"x" * 100 * 1024 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert _raw(server.port, long_url).startswith(b"HTTP/1.1 414 ")
    bearer = b"Bearer " + b"a" * 16 * 1024
    post = (b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: " + bearer + b"\r\nContent-Length: 2\r\n\r\n{}")
    assert _raw(server.port, post).startswith(b"HTTP/1.1 431 ")
    handshake = (b"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 b"Sec-WebSocket-Protocol: graphql-transport-ws\r\nAuthorization: " + bearer + b"\r\n\r\n")
    assert _raw(server.port, handshake).startswith(b"HTTP/1.1 431 ")
    # Many headers of ordinary size are fine until their total passes 16 KiB.
    assert _raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                b"X-A: " + b"b" * 8000 + b"\r\n\r\n").startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("protocol", [LEGACY, TRANSPORT])
@pytest.mark.live
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_live_a_client_that_never_reads_is_closed_4503(daphne, protocol):  # noqa: F811
    """The client asks for ~25 KB answers and never reads: once daphne holds 1 MiB it cannot write, the
    server closes the socket (4503) instead of buffering without bound."""
    server = daphne()
    client = sockets_module.socket()
    client.setsockopt(sockets_module.SOL_SOCKET, sockets_module.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    client.sendall(f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n".encode())
    time.sleep(0.3)
    client.sendall(_frame(json.dumps({"type": "connection_init"})))
    client.settimeout(1)
    closed = False
    started = time.monotonic()
    try:
        for i in range(1000):
            client.sendall(_frame(json.dumps(start_message(protocol, str(i), INTROSPECTION))))
            time.sleep(0.005)
    except OSError:
        closed = True  # the server reset the connection under us
    finally:
        client.close()
    deadline = time.monotonic() + 10
    while '"close_code": 4503' not in server.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert '"close_code": 4503' in server.output(), server.output()[-2000:]
    assert closed and time.monotonic() - started < 15
    assert server.rss() < 400 * 1024 * 1024
