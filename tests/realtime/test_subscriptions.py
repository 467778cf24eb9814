"""Subscriptions end to end: real mutations (HTTP and websocket) -> events after commit -> the hub -> subscribers.

Transactional tests: the server's threads must see the committed rows.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from django.db import transaction

from common import events
from feed import services as feed_services
from interactions import services as interaction_services
from schema.api import schema
from schema.core.node import global_id, parse_global_id
from schema.realtime import operations
from schema.realtime.hub import Sub, get_hub, process_events
from tests.conftest import GraphQLClient, make_user
from tests.support.websockets import LEGACY, anyio_backend, db, sockets, subscribed, wait_until  # noqa: F401
from users.models import User

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


async def gql(query, variables=None, user=None):
    response = await db(GraphQLClient(), query, variables or {}, user=user)
    assert response.status == 200 and not response.errors, response.body
    return response.data


async def subscribe(socket, op_id, query, variables=None, group=None, count=1):
    await socket.send({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
    if group:
        await subscribed(group, count)


async def next_data(socket, op_id, field, timeout=5.0):
    message = await socket.recv(timeout)
    assert message["type"] in ("next", "data") and message["id"] == op_id, message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"][field]


def users(count, prefix="u"):
    made = [User(username=f"{prefix}{index}", email=f"{prefix}{index}@example.com", password="!")
            for index in range(count)]
    return User.objects.bulk_create(made)


CREATE_POST = "mutation P($body: String!) { createPost(input: {body: $body}) { post { id } errors { code } } }"


async def create_post(user, body):
    return (await gql(CREATE_POST, {"body": body}, user=user))["createPost"]["post"]["id"]


# --- postCreated ---------------------------------------------------------------------------
async def test_post_created_with_and_without_filters(sockets):
    alice, bob = await db(make_user, "alice"), await db(make_user, "bob")
    socket = await sockets()
    query = "subscription S($a: ID, $h: String) { postCreated(authorId: $a, hashtag: $h) { body author { username } } }"
    await subscribe(socket, "all", query)
    await subscribe(socket, "bob", query, {"a": global_id("User", bob.pk)})
    await subscribe(socket, "tag", query, {"h": "#Django"})
    await subscribe(socket, "other-tag", query, {"h": "python"}, group=events.POSTS_CREATED, count=4)

    await create_post(alice, "Hello #django world")
    received = {}
    for _ in range(2):
        message = await socket.recv()
        received[message["id"]] = message["payload"]["data"]["postCreated"]
    assert received == {
        "all": {"body": "Hello #django world", "author": {"username": "alice"}},
        "tag": {"body": "Hello #django world", "author": {"username": "alice"}},
    }
    assert await socket.nothing(0.3)

    await create_post(bob, "Plain words")
    received = {(await socket.recv())["id"] for _ in range(2)}
    assert received == {"all", "bob"}
    assert await socket.nothing(0.3)


async def test_post_created_rejects_an_unknown_author(sockets):
    socket = await sockets()
    await subscribe(socket, "1", "subscription { postCreated(authorId: \"VXNlcjo5OTk5\") { id } }")
    message = await socket.recv()
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert message["payload"][0]["path"] == ["postCreated"]


# --- postUpdated: each subscriber's own viewer flags -----------------------------------------
POST_UPDATED = """subscription U($id: ID!) {
  postUpdated(postId: $id) { id likeCount viewerHasLiked viewerCanUpdate }
}"""


async def test_post_updated_runs_the_selection_as_each_subscriber(sockets):
    alice, bob = await db(make_user, "alice"), await db(make_user, "bob")
    post_id = await create_post(alice, "Like me")
    alice_socket, bob_socket, anonymous = await sockets(user=alice), await sockets(user=bob), await sockets()
    for socket in (alice_socket, bob_socket, anonymous):
        await subscribe(socket, "u", POST_UPDATED, {"id": post_id})
    pk = parse_global_id(post_id)[1]
    await subscribed(events.post_updated_group(pk), 3)

    await gql("mutation L($id: ID!) { likePost(input: {postId: $id}) { errors { code } } }", {"id": post_id}, bob)
    assert await next_data(alice_socket, "u", "postUpdated") == {
        "id": post_id, "likeCount": 1, "viewerHasLiked": False, "viewerCanUpdate": True}
    assert await next_data(bob_socket, "u", "postUpdated") == {
        "id": post_id, "likeCount": 1, "viewerHasLiked": True, "viewerCanUpdate": False}
    assert await next_data(anonymous, "u", "postUpdated") == {
        "id": post_id, "likeCount": 1, "viewerHasLiked": False, "viewerCanUpdate": False}


async def test_post_updated_over_the_legacy_protocol_and_edits(sockets):
    alice = await db(make_user, "alice")
    post_id = await create_post(alice, "First draft")
    socket = await sockets((LEGACY,))
    await socket.send({"id": "1", "type": "start", "payload": {
        "query": "subscription U($id: ID!) { postUpdated(postId: $id) { body editedAt } }", "variables": {"id": post_id}}})
    await wait_until(lambda: any(get_hub().subscriptions(name) for name in get_hub().joined if name.endswith(".updated")))
    await gql("mutation E($id: ID!) { updatePost(input: {postId: $id, body: \"Second draft\"}) { errors { code } } }",
              {"id": post_id}, alice)
    data = await next_data(socket, "1", "postUpdated")
    assert data["body"] == "Second draft" and data["editedAt"]


async def test_post_updated_coalesces_a_burst_and_ends_with_fresh_counts(sockets, settings):
    settings.REALTIME = {"POST_UPDATED_INTERVAL": 0.25}
    alice = await db(make_user, "alice")
    post = await db(feed_services.post_create, author=alice, body="Hot post")
    likers = await db(users, 60)
    socket = await sockets()
    await subscribe(socket, "u", POST_UPDATED, {"id": global_id("Post", post.pk)},
                    group=events.post_updated_group(post.pk))

    def burst():  # about a second of likes, one every 15 ms
        for user in likers:
            interaction_services.like_create(user=user, post_id=post.pk)
            time.sleep(0.015)

    started = time.monotonic()
    await db(burst)
    duration = time.monotonic() - started
    counts = []
    while not counts or counts[-1] < 60:
        counts.append((await next_data(socket, "u", "postUpdated", timeout=3))["likeCount"])
    assert await socket.nothing(0.6)
    # 60 likes: at most one update per 250 ms (plus the leading and the trailing one), the last one fresh.
    assert len(counts) <= duration / 0.25 + 2, (counts, duration)
    assert len(counts) >= duration / 0.25 - 2, (counts, duration)  # ... and a few updates a second meanwhile
    assert counts == sorted(counts) and counts[-1] == 60


async def test_post_updated_does_not_send_a_state_the_subscriber_already_has(sockets, settings):
    settings.REALTIME = {"POST_UPDATED_INTERVAL": 0.05}
    alice = await db(make_user, "alice")
    post = await db(feed_services.post_create, author=alice, body="Quiet post")
    socket = await sockets()
    await subscribe(socket, "u", POST_UPDATED, {"id": global_id("Post", post.pk)},
                    group=events.post_updated_group(post.pk))
    await db(interaction_services.like_create, user=alice, post_id=post.pk)
    assert (await next_data(socket, "u", "postUpdated"))["likeCount"] == 1
    await db(events.publish, "post_updated", post_id=post.pk)  # nothing changed since
    assert await socket.nothing(0.4)
    await db(interaction_services.like_delete, user=alice, post_id=post.pk)
    assert (await next_data(socket, "u", "postUpdated"))["likeCount"] == 0


# --- postDeleted ---------------------------------------------------------------------------
async def test_post_deleted_for_one_post_or_all(sockets):
    alice = await db(make_user, "alice")
    first, second = await create_post(alice, "one"), await create_post(alice, "two")
    socket = await sockets()
    await subscribe(socket, "one", "subscription D($id: ID) { postDeleted(postId: $id) }", {"id": first})
    await subscribe(socket, "all", "subscription { postDeleted }", group=events.POSTS_DELETED, count=2)
    delete = "mutation D($id: ID!) { deletePost(input: {postId: $id}) { deletedPostId errors { code } } }"
    await gql(delete, {"id": second}, alice)
    assert await next_data(socket, "all", "postDeleted") == second
    assert await socket.nothing(0.3)
    await gql(delete, {"id": first}, alice)
    received = {}
    for _ in range(2):
        message = await socket.recv()
        received[message["id"]] = message["payload"]["data"]["postDeleted"]
    assert received == {"one": first, "all": first}


# --- commentAdded --------------------------------------------------------------------------
async def test_comment_added_with_per_subscriber_permissions(sockets):
    alice, bob = await db(make_user, "alice"), await db(make_user, "bob")
    post_id = await create_post(alice, "Discuss")
    alice_socket, bob_socket = await sockets(user=alice), await sockets(user=bob)
    query = ("subscription C($id: ID!) { commentAdded(postId: $id) "
             "{ body author { username } post { id } parent { body } viewerCanDelete } }")
    for socket in (alice_socket, bob_socket):
        await subscribe(socket, "c", query, {"id": post_id})
    pk = parse_global_id(post_id)[1]
    await subscribed(events.comments_group(pk), 2)

    comment = "mutation C($id: ID!, $body: String!) { createComment(input: {postId: $id, body: $body}) " \
              "{ comment { id } errors { code } } }"
    await gql(comment, {"id": post_id, "body": "First!"}, bob)
    # The post's author may delete any comment on it; bob his own.
    assert await next_data(alice_socket, "c", "commentAdded") == {
        "body": "First!", "author": {"username": "bob"}, "post": {"id": post_id}, "parent": None,
        "viewerCanDelete": True}
    assert (await next_data(bob_socket, "c", "commentAdded"))["viewerCanDelete"] is True

    carol = await db(make_user, "carol")
    await gql(comment, {"id": post_id, "body": "Me too"}, carol)
    assert (await next_data(alice_socket, "c", "commentAdded"))["viewerCanDelete"] is True
    assert (await next_data(bob_socket, "c", "commentAdded"))["viewerCanDelete"] is False


# --- notificationReceived ------------------------------------------------------------------
async def test_notifications_reach_their_recipient_only(sockets):
    alice, bob, carol = await db(make_user, "alice"), await db(make_user, "bob"), await db(make_user, "carol")
    alice_socket, carol_socket = await sockets(user=alice), await sockets(user=carol)
    query = "subscription { notificationReceived { kind actor { username } post { body } read } }"
    await subscribe(alice_socket, "n", query, group=events.notifications_group(alice.pk))
    await subscribe(carol_socket, "n", query, group=events.notifications_group(carol.pk))

    await gql("mutation F($id: ID!) { followUser(input: {userId: $id}) { errors { code } } }",
              {"id": global_id("User", alice.pk)}, bob)
    assert await next_data(alice_socket, "n", "notificationReceived") == {
        "kind": "FOLLOW", "actor": {"username": "bob"}, "post": None, "read": False}

    post_id = await create_post(alice, "Notice me")
    await gql("mutation L($id: ID!) { likePost(input: {postId: $id}) { errors { code } } }", {"id": post_id}, bob)
    assert await next_data(alice_socket, "n", "notificationReceived") == {
        "kind": "LIKE", "actor": {"username": "bob"}, "post": {"body": "Notice me"}, "read": False}
    assert await carol_socket.nothing(0.3)


# --- feedUpdated ---------------------------------------------------------------------------
async def test_feed_updated_reaches_followers_and_the_author(sockets):
    alice, bob, carol, dave = [await db(make_user, name) for name in ("alice", "bob", "carol", "dave")]
    follow = "mutation F($id: ID!) { followUser(input: {userId: $id}) { errors { code } } }"
    await gql(follow, {"id": global_id("User", bob.pk)}, alice)
    await gql(follow, {"id": global_id("User", dave.pk)}, alice)
    alice_socket, carol_socket = await sockets(user=alice), await sockets(user=carol)
    query = ("subscription { feedUpdated { cursor node { body author { username } viewerCanUpdate viewerHasLiked } "
             "share { user { username } comment } } }")
    await subscribe(alice_socket, "f", query)
    await subscribe(carol_socket, "f", query, group=events.POSTS_CREATED, count=2)
    await subscribed(events.SHARES_CREATED, 2)

    post_id = await create_post(bob, "From bob")
    edge = await next_data(alice_socket, "f", "feedUpdated")
    assert edge["node"] == {"body": "From bob", "author": {"username": "bob"}, "viewerCanUpdate": False,
                            "viewerHasLiked": False}
    assert edge["share"] is None and edge["cursor"]
    assert await carol_socket.nothing(0.3)

    # One's own posts are in one's feed.
    await create_post(carol, "From carol")
    assert (await next_data(carol_socket, "f", "feedUpdated"))["node"]["viewerCanUpdate"] is True
    assert await alice_socket.nothing(0.3)

    # A followed user's share brings the post in, with the share.
    await gql("mutation S($id: ID!) { sharePost(input: {postId: $id, comment: \"look\"}) { errors { code } } }",
              {"id": post_id}, dave)
    edge = await next_data(alice_socket, "f", "feedUpdated")
    assert edge["share"] == {"user": {"username": "dave"}, "comment": "look"}
    assert edge["node"]["body"] == "From bob"
    assert await carol_socket.nothing(0.3)



# --- after commit only ---------------------------------------------------------------------
async def test_nothing_is_sent_for_rolled_back_work(sockets):
    alice = await db(make_user, "alice")
    socket = await sockets()
    await subscribe(socket, "p", "subscription { postCreated { body } }", group=events.POSTS_CREATED)

    def rolled_back():
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                feed_services.post_create(author=alice, body="never happened")
                raise RuntimeError("rollback")

    await db(rolled_back)
    assert await socket.nothing(0.5)
    # A failed mutation publishes nothing either.
    response = await db(GraphQLClient(), CREATE_POST, {"body": "   "}, user=alice)
    assert response.data["createPost"]["errors"][0]["code"] == "REQUIRED"
    assert await socket.nothing(0.3)
    await create_post(alice, "committed")
    assert await next_data(socket, "p", "postCreated") == {"body": "committed"}


# --- slow subscribers ----------------------------------------------------------------------
async def test_a_slow_subscriber_is_dropped_and_does_not_hold_up_the_others(sockets, settings):
    settings.REALTIME = {"LAG_PING_BYTES": 200, "LAG_MAX_BYTES": 2000}
    alice = await db(make_user, "alice")
    slow, fast = await sockets(), await sockets()
    query = "subscription { postCreated { id body } }"
    await subscribe(slow, "p", query)
    await subscribe(fast, "p", query, group=events.POSTS_CREATED, count=2)

    received = 0
    for index in range(25):
        await db(feed_services.post_create, author=alice, body=f"post number {index} " + "x" * 100)
        while True:  # the fast one reads everything and answers pings
            message = await fast.recv()
            if message["type"] == "ping":
                await fast.send({"type": "pong", "payload": message["payload"]})
                continue
            assert message["type"] == "next"
            received += 1
            break
    assert received == 25
    # The slow one never answered its ping: it was closed once 2,000 characters went unconfirmed.
    assert await slow.expect_close() == 4503
    assert 10 < slow.received_chars < 25 * 150
    assert get_hub().subscriptions(events.POSTS_CREATED) == 1


async def test_a_full_outbox_closes_the_connection(sockets, settings):
    settings.REALTIME = {"QUEUE_MAX_MESSAGES": 3}
    socket = await sockets()
    await subscribe(socket, "d", "subscription { postDeleted }", group=events.POSTS_DELETED)
    (sub,) = get_hub().groups[events.POSTS_DELETED].subs
    for index in range(10):  # ten results arrive in one go, before the writer can run
        sub.conn.deliver("d", '{"data":{"postDeleted":"x"}}')
    assert await socket.expect_close() == 4503


# --- batching ------------------------------------------------------------------------------
def _subs(query, variables, viewers):
    subs = []
    for viewer in viewers:
        stream = operations.start(schema, viewer, query, variables, None, "test")
        assert isinstance(stream, operations.Stream), stream
        subs.append(Sub(conn=None, op_id="1", stream=stream, viewer=viewer))
    return subs


def test_one_event_loads_its_object_once_and_shares_identical_executions(django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    alice = make_user("alice")
    viewers = users(5)
    post = feed_services.post_create(author=alice, body="Shared")
    query = "subscription U($id: ID!) { postUpdated(postId: $id) { likeCount author { username } } }"
    anonymous = _subs(query, {"id": global_id("Post", post.pk)}, [AnonymousUser()] * 20)
    # 20 anonymous subscribers: one query (the post with its author) and one execution.
    with django_assert_num_queries(1):
        out = process_events([("post_updated", {"post_id": post.pk}, anonymous)])
    assert len(out) == 20 and len({payload for _, payload in out}) == 1
    assert out[0][1] == '{"data":{"postUpdated":{"likeCount":0,"author":{"username":"alice"}}}}'

    # Viewer flags are each viewer's own, all answered by one query: one for the post, one for the flags.
    flags = _subs("subscription U($id: ID!) { postUpdated(postId: $id) { viewerHasLiked viewerHasBookmarked } }",
                  {"id": global_id("Post", post.pk)}, viewers)
    interaction_services.like_create(user=viewers[2], post_id=post.pk)
    with django_assert_num_queries(2):
        out = process_events([("post_updated", {"post_id": post.pk}, flags)])
    liked = [payload for _, payload in out]
    assert liked.count('{"data":{"postUpdated":{"viewerHasLiked":true,"viewerHasBookmarked":false}}}') == 1
    assert liked.count('{"data":{"postUpdated":{"viewerHasLiked":false,"viewerHasBookmarked":false}}}') == 4


async def test_subscribing_many_times_to_one_group_joins_it_once(sockets):
    alice = await db(make_user, "alice")
    post = await db(feed_services.post_create, author=alice, body="Popular")
    group = events.post_updated_group(post.pk)
    socket = await sockets()
    for index in range(5):
        await subscribe(socket, str(index), POST_UPDATED, {"id": global_id("Post", post.pk)})
    await subscribed(group, 5)
    hub = get_hub()
    channel_groups = hub.layer._get_layer().groups
    assert len(channel_groups[f"{hub.layer._get_layer().prefix}__group__{group}"]) == 1
    for index in range(5):
        await socket.send({"id": str(index), "type": "complete"})
    await wait_until(lambda: group not in hub.joined, what="the hub to leave the group")
    await asyncio.sleep(0)
