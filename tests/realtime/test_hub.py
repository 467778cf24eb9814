"""The subscription hub: its groups, joins and channel-layer groups return to empty after churn mid-event
(sockets closing abruptly with subscriptions running), and its executor fails a job instead of hanging."""

from __future__ import annotations

import asyncio

import pytest

from common import events
from feed import services as feed_services
from interactions import services as interaction_services
from schema.core.node import global_id
from schema.realtime.hub import get_hub
from tests.conftest import make_user
from tests.support.websockets import LEGACY, anyio_backend, db, sockets, subscribe, subscribed, wait_until  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


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


# --- the executor -------------------------------------------------------------------------
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
