"""A real third-party client (the gql library, one transport per subprotocol) against real daphne processes,
and two processes: a mutation on one reaches subscribers on the other through channels-redis.
"""

from __future__ import annotations

import asyncio

import pytest
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportError, TransportServerError
from gql.transport.websockets import WebsocketsTransport
from graphql_jwt.shortcuts import get_token
from websockets.exceptions import ConnectionClosed

from common import events
from schema.core.node import global_id, parse_global_id
from tests.conftest import make_user
from tests.support.live_server import daphne, wait_for_listeners  # noqa: F401 - the fixture
from tests.support.websockets import db

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL  # "graphql-transport-ws"
LEGACY_WS = WebsocketsTransport.APOLLO_SUBPROTOCOL  # "graphql-ws"

CREATE_POST = "mutation P($body: String!) { createPost(input: {body: $body}) { post { id body } errors { code } } }"
LIKE = "mutation L($id: ID!) { likePost(input: {postId: $id}) { post { likeCount } errors { code } } }"
POST_UPDATED = "subscription U($id: ID!) { postUpdated(postId: $id) { likeCount viewerHasLiked } }"
POST_CREATED = "subscription { postCreated { body author { username } } }"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def websocket(server, subprotocol, token=None, **options):
    return WebsocketsTransport(
        url=server.ws, subprotocols=[subprotocol],
        init_payload={"authorization": f"Bearer {token}"} if token else {},
        connect_timeout=10, ack_timeout=10, **options,
    )


async def http(server, query, variables, token):
    transport = AIOHTTPTransport(url=f"{server.http}/graphql", headers={"Authorization": f"Bearer {token}"})
    async with Client(transport=transport) as session:
        return await session.execute(GraphQLRequest(query, variable_values=variables))


async def first_matching(session, request, predicate, results: list):
    async for result in session.subscribe(request):
        results.append(result)
        if predicate(result):
            return result


async def users_and_tokens(*names):
    made = [await db(make_user, name) for name in names]
    return made, [await db(get_token, user) for user in made]


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
async def test_gql_client_queries_mutates_and_subscribes(daphne, subprotocol):  # noqa: F811
    server = daphne()
    (alice, bob), (alice_token, bob_token) = await users_and_tokens("alice", "bob")
    options = {"ping_interval": 0.3, "pong_timeout": 3} if subprotocol == TRANSPORT_WS else {"keep_alive_timeout": 30}
    async with Client(transport=websocket(server, subprotocol, alice_token, **options)) as session:
        assert await session.execute(GraphQLRequest("{ viewer { username } }")) == {"viewer": {"username": "alice"}}
        created = await session.execute(GraphQLRequest(CREATE_POST, variable_values={"body": "over the socket"}))
        post_id = created["createPost"]["post"]["id"]

        updates: list = []
        listener = asyncio.ensure_future(first_matching(
            session, GraphQLRequest(POST_UPDATED, variable_values={"id": post_id}),
            lambda result: result["postUpdated"]["likeCount"] == 1, updates))
        await wait_for_listeners(events.post_updated_group(parse_global_id(post_id)[1]))
        await asyncio.sleep(0.6)  # a couple of client pings go back and forth meanwhile
        await http(server, LIKE, {"id": post_id}, bob_token)
        # Alice's selection runs as alice: she did not like it, bob did.
        assert await asyncio.wait_for(listener, 10) == {"postUpdated": {"likeCount": 1, "viewerHasLiked": False}}

        # Leaving the loop completes (graphql-transport-ws) or stops (graphql-ws) the subscription;
        # the connection goes on.
        assert await session.execute(GraphQLRequest("{ viewer { username } }")) == {"viewer": {"username": "alice"}}


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
async def test_gql_client_errors(daphne, subprotocol):  # noqa: F811
    server = daphne()
    async with Client(transport=websocket(server, subprotocol)) as session:
        with pytest.raises(Exception) as error:  # TransportQueryError, with the server's error
            await session.execute(GraphQLRequest("subscription { feedUpdated { cursor } }"))
        assert "UNAUTHENTICATED" in str(error.value) or "logged in" in str(error.value)


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
async def test_gql_client_with_a_bad_token_is_refused(daphne, subprotocol):  # noqa: F811
    server = daphne()
    with pytest.raises((TransportServerError, TransportError, ConnectionClosed, asyncio.TimeoutError)):
        async with Client(transport=websocket(server, subprotocol, "not-a-token")) as session:
            await session.execute(GraphQLRequest("{ viewer { username } }"))


async def test_a_mutation_on_one_process_reaches_subscribers_on_another(daphne):  # noqa: F811
    first, second = daphne(), daphne()
    (alice,), (alice_token,) = await users_and_tokens("alice")
    received_transport: list = []
    received_legacy: list = []
    async with Client(transport=websocket(first, TRANSPORT_WS)) as on_first, \
            Client(transport=websocket(second, LEGACY_WS)) as on_second:
        wanted = lambda result: result["postCreated"]["body"] == "across processes"  # noqa: E731
        listeners = [
            asyncio.ensure_future(first_matching(on_first, GraphQLRequest(POST_CREATED), wanted, received_transport)),
            asyncio.ensure_future(first_matching(on_second, GraphQLRequest(POST_CREATED), wanted, received_legacy)),
        ]
        await wait_for_listeners(events.POSTS_CREATED, 2)  # one per process
        # The mutation goes to the first process over HTTP; the legacy subscriber sits on the second.
        await http(first, CREATE_POST, {"body": "across processes"}, alice_token)
        results = await asyncio.wait_for(asyncio.gather(*listeners), 10)
    assert results == [{"postCreated": {"body": "across processes", "author": {"username": "alice"}}}] * 2
    assert len(received_transport) == len(received_legacy) == 1


async def test_many_subscribers_in_two_processes_each_get_one_update(daphne):  # noqa: F811
    first, second = daphne(), daphne()
    (alice, bob, carol), (alice_token, bob_token, carol_token) = await users_and_tokens("alice", "bob", "carol")
    post = await http(first, CREATE_POST, {"body": "popular"}, alice_token)
    post_id = post["createPost"]["post"]["id"]
    clients = [Client(transport=websocket(server, protocol))
               for server in (first, second) for protocol in (TRANSPORT_WS, LEGACY_WS) for _ in range(5)]
    sessions = [await client.connect_async() for client in clients]
    try:
        listeners = [asyncio.ensure_future(first_matching(
            session, GraphQLRequest(POST_UPDATED, variable_values={"id": post_id}),
            lambda result: result["postUpdated"]["likeCount"] >= 1, [])) for session in sessions]
        await wait_for_listeners(events.post_updated_group(parse_global_id(post_id)[1]), 2)
        await asyncio.sleep(0.5)  # each process registers its subscriptions meanwhile
        await http(second, LIKE, {"id": post_id}, bob_token)
        done, _ = await asyncio.wait(listeners, timeout=5)
        if len(done) < len(listeners):  # a subscription that was not registered yet missed it: once more
            await http(first, LIKE, {"id": post_id}, carol_token)
        results = await asyncio.wait_for(asyncio.gather(*listeners), 10)
        assert len(results) == 20
        assert all(result["postUpdated"]["viewerHasLiked"] is False for result in results)
        assert sum(result["postUpdated"]["likeCount"] == 1 for result in results) >= 10
    finally:
        for client in clients:
            await client.close_async()
    assert global_id("Post", parse_global_id(post_id)[1]) == post_id
