"""/metrics: Prometheus text from every process of a live server (multiprocess files), protected by a token,
and the counters move under a short load (requests by operation and outcome, latency, SQL per request,
websocket connections, subscriptions, events published and delivered, queue depth)."""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request

import pytest
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.websockets import WebsocketsTransport
from graphql_jwt.shortcuts import get_token

from common import events
from tests.conftest import make_user
from tests.support.live_server import daphne, wait_for_listeners  # noqa: F401 - the fixture
from tests.support.websockets import db

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

TOKEN = "metrics-test-token"
CREATE_POST = "mutation MetricsPost($body: String!) { createPost(input: {body: $body}) { post { id } errors { code } } }"
POST_CREATED = "subscription MetricsWatch { postCreated { body } }"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def scrape(server, token=TOKEN) -> dict[str, float]:
    request = urllib.request.Request(f"{server.http}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def value(samples: dict, name: str, **labels) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for key, number in samples.items():
        metric, _, rest = key.partition("{")
        if metric != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if all(found.get(k) == v for k, v in labels.items()):
            total += number
    return total


def post(server, body: bytes, token=None) -> int:
    # application/graphql-response+json: a request error (a parse error) is an HTTP 400 (the spec).
    headers = {"Content-Type": "application/json", "Accept": "application/graphql-response+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{server.http}/graphql", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_metrics_need_the_token(daphne, tmp_path):  # noqa: F811
    server = daphne(METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for token in ("wrong", ""):
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(server, token)
        assert refused.value.code == 404
    assert "http_requests_total" in "".join(scrape(server))


async def test_counters_move_under_a_short_load(daphne, tmp_path):  # noqa: F811
    server = daphne(METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    alice = await db(make_user, "alice")
    token = await db(get_token, alice)
    before = await asyncio.to_thread(scrape, server)

    query = b'{"query": "query MetricsLoad { users(first: 5) { edges { node { username } } } }"}'
    statuses = [await asyncio.to_thread(post, server, query) for _ in range(10)]
    assert statuses == [200] * 10
    assert await asyncio.to_thread(post, server, b'{"query": "query MetricsBroken {"}') == 400

    received = []
    subscriber = Client(transport=WebsocketsTransport(url=server.ws, subprotocols=["graphql-transport-ws"],
                                                      connect_timeout=10, ack_timeout=10))
    async with subscriber as session:
        async def first_post():
            async for result in session.subscribe(GraphQLRequest(POST_CREATED)):
                received.append(result)
                return result

        listener = asyncio.ensure_future(first_post())
        await wait_for_listeners(events.POSTS_CREATED, 1)
        during = await asyncio.to_thread(scrape, server)
        transport = AIOHTTPTransport(url=f"{server.http}/graphql", headers={"Authorization": f"Bearer {token}"})
        async with Client(transport=transport) as http:
            await http.execute(GraphQLRequest(CREATE_POST, variable_values={"body": "counted"}))
        await asyncio.wait_for(listener, 10)
    after = await asyncio.to_thread(scrape, server)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("http_requests_total", route="graphql", operation="MetricsLoad", outcome="ok") == 10
    assert moved("http_requests_total", route="graphql", outcome="client_error") == 1
    assert moved("http_requests_total", route="graphql", operation="MetricsPost", outcome="ok") == 1
    assert moved("http_request_duration_seconds_count", route="graphql", operation="MetricsLoad") == 10
    assert moved("http_request_duration_seconds_bucket", route="graphql", operation="MetricsLoad", le="+Inf") == 10
    assert moved("http_request_sql_statements_sum", route="graphql", operation="MetricsLoad") >= 10
    assert value(during, "websocket_open_connections") == 1
    assert value(during, "graphql_active_subscriptions") == 1
    assert moved("websocket_connections_total") == 1
    assert moved("events_published_total", kind="post_created") == 1
    assert moved("events_delivered_total") == 1
    assert received == [{"postCreated": {"body": "counted"}}]
    # read from the broker at scrape time
    assert any(key.startswith("celery_queue_messages{") for key in after)
    # the socket is closed: the live gauges are back to 0 (give the server a moment to notice)
    for _ in range(50):
        final = await asyncio.to_thread(scrape, server)
        if value(final, "websocket_open_connections") == 0:
            break
        await asyncio.sleep(0.1)
    assert value(final, "websocket_open_connections") == 0
    assert value(final, "graphql_active_subscriptions") == 0
