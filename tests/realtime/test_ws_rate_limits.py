"""Budgets over websockets (both subprotocols): an operation over budget gets RATE_LIMITED for itself,
subscription events cost points and end the subscription when the budget is spent, the node limit
holds, and only a connection-level flood closes the socket (4429)."""

from __future__ import annotations

import anyio
import pytest
from asgiref.sync import sync_to_async

from common import ratelimit
from common.events import publish
from schema.core import budget
from schema.core.node import global_id
from tests.support.websockets import LEGACY, anyio_backend, db, sockets, subscribe, subscribed  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.django_db]

POSTS = "{ posts(first: 100) { edges { node { id } } } }"
ANONYMOUS = "a:unknown"  # the test communicator's scope has no client address


def used() -> int:
    return ratelimit.charge(budget.BUDGET, ANONYMOUS, 0, limit=1, window=60).used


@pytest.fixture
def small_budget(settings):
    settings.GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS = 3
    settings.GRAPHQL_RATE_LIMIT_WINDOW_SECONDS = 60
    settings.GRAPHQL_SUBSCRIPTION_EVENTS_PER_POINT = 2


async def test_transport_ws_operations_over_budget_get_an_error_and_the_socket_stays(sockets, small_budget):
    socket = await sockets()
    for index in range(3):
        await subscribe(socket, str(index), POSTS)
        assert (await socket.recv())["type"] == "next"
        assert await socket.recv() == {"id": str(index), "type": "complete"}
    await subscribe(socket, "over", POSTS)
    message = await socket.recv()
    assert message["type"] == "error" and message["id"] == "over"
    assert [e["extensions"]["code"] for e in message["payload"]] == ["RATE_LIMITED"]
    assert await sync_to_async(used)() == 3
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}  # still open


async def test_legacy_operations_over_budget_get_an_error(sockets, small_budget):
    socket = await sockets((LEGACY,))
    for index in range(4):
        await socket.send({"id": str(index), "type": "start", "payload": {"query": POSTS}})
        message = await socket.recv()
        assert await socket.recv() == {"id": str(index), "type": "complete"}
    assert message["type"] == "data" and message["payload"]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_the_node_limit_holds_over_websockets(sockets):
    socket = await sockets()
    await subscribe(socket, "big", "query($n: Int) { posts(first: $n) { edges { node { likes(first: 100) { "
                                   "edges { node { user { posts(first: 100) { edges { node { id } } } } } } } } } } }",
                    {"n": 100})
    message = await socket.recv()
    assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "1,010,100 nodes" in message["payload"][0]["message"]


@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", LEGACY])
async def test_subscription_events_count_and_a_spent_budget_ends_the_subscription(sockets, small_budget,
                                                                                   subprotocol):
    socket = await sockets((subprotocol,))
    start = "subscribe" if subprotocol != LEGACY else "start"
    await socket.send({"id": "s", "type": start, "payload": {"query": "subscription { postDeleted }"}})
    await subscribed("posts.deleted")
    assert await sync_to_async(used)() == 1  # starting it
    received = []
    for post_id in range(1, 10):
        await sync_to_async(publish)("post_deleted", post_id=post_id, author_id=1)
        message = await socket.recv()
        received.append(message)
        if message["type"] in ("error", "complete") or message["payload"].get("errors"):
            break
    events = [m for m in received if m["type"] in ("next", "data") and m["payload"].get("data")]
    # 1 point to start, then 1 per 2 events: the 6th event makes 4 > 3, and the subscription ends. The charge
    # runs off the event loop (socket.EventCharges), and events arriving meanwhile wait for its answer.
    assert len(events) == 6, received
    last = received[-1]
    errors = last["payload"] if last["type"] == "error" else last["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["RATE_LIMITED"]
    if subprotocol == LEGACY:
        assert await socket.recv() == {"id": "s", "type": "complete"}
    await sync_to_async(publish)("post_deleted", post_id=99, author_id=1)
    assert await socket.nothing(0.3)


async def test_events_held_while_their_charge_is_in_flight_go_out_in_order(sockets, settings):
    settings.GRAPHQL_SUBSCRIPTION_EVENTS_PER_POINT = 1  # every event starts a charge: the next ones wait for it
    socket = await sockets()
    await subscribe(socket, "s", "subscription { postDeleted }")
    await subscribed("posts.deleted")

    def burst():
        for post_id in range(1, 9):
            publish("post_deleted", post_id=post_id, author_id=1)

    await sync_to_async(burst)()
    received = [await socket.recv() for _ in range(8)]
    assert [m["payload"]["data"]["postDeleted"] for m in received] == [
        global_id("Post", post_id) for post_id in range(1, 9)]
    for _ in range(100):  # the 8th event's charge may still be in flight
        if await sync_to_async(used)() == 9:  # starting it, then one point per event
            break
        await anyio.sleep(0.02)
    assert await sync_to_async(used)() == 9


async def test_a_flood_of_messages_closes_4429(sockets, settings):
    settings.REALTIME = {"MAX_MESSAGES_PER_SECOND": 10}
    socket = await sockets()
    for _ in range(40):
        await socket.send({"type": "ping"})
    assert await socket.expect_close() == 4429
