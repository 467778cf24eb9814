"""Faults degrade, never 500 (issue 9, D15/D16): a live daphne on its OWN embedded Redis / PostgreSQL, which the
tests kill and restart (never the machine's services, which other runs share).

- Redis killed: the feed page still answers (stored counts), fields only Redis holds are SERVICE_UNAVAILABLE,
  writes that need no Redis work, recordPostViews is an error code; Redis back: views and subscriptions
  work again without restarting the server.
- PostgreSQL stopped: requests fail fast with 503, Retry-After and SERVICE_UNAVAILABLE, never 500;
  PostgreSQL back: no request fails (pooled connections are checked), counters equal COUNT(*).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from graphql_jwt.shortcuts import get_token
from websockets.sync.client import connect

from config import embedded
from feed import services as feed_services
from schema.core.node import global_id
from tests.conftest import make_user
from tests.support.live_server import BASE_DIR, daphne, start_daphne  # noqa: F401 - the fixture
from users import services as user_services

pytestmark = [pytest.mark.live, pytest.mark.slow]

FEED_PAGE = """query { feed(first: 10) { edges { node { id body likeCount viewCount author { username } } } } }"""
ANALYTICS = """query($id: ID!) { node(id: $id) { ... on Post { id viewCount analytics { uniqueViewerCount } } } }"""
TRENDS = "{ trendingPosts(first: 5) { id } trendingHashtags(first: 5) { __typename } }"
LIKE = "mutation($id: ID!) { likePost(input: {postId: $id}) { post { likeCount } errors { code } } }"
VIEWS = "mutation($ids: [ID!]!) { recordPostViews(input: {postIds: $ids}) { recorded errors { code } } }"
REGISTER = ("mutation($u: String!) { register(input: {username: $u, email: $e, password: \"correct horse 1\"}) "
            "{ user { id } token errors { code } } }")


def gql(server, query, variables=None, token=None, timeout=10.0):
    """(status, headers, body, seconds) of one POST /graphql."""
    request = urllib.request.Request(
        f"{server.http}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read()), time.monotonic() - started
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"raw": raw.decode(errors="replace")[:500]}
        return error.code, dict(error.headers), body, time.monotonic() - started


def codes(body) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def logged_errors(server) -> list[str]:
    """The server's ERROR log lines, apart from channels-redis's own reconnection noise."""
    return [line[:3000] for line in server.output().splitlines()
            if '"level": "ERROR"' in line and "channels_redis" not in line]


def eventually(check, timeout=15.0, what="recovery"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.2)


# --- Redis ------------------------------------------------------------------------------------
@pytest.fixture
def own_redis(tmp_path):
    server = embedded.EmbeddedRedis()
    server.dir = tmp_path / "redis"
    server.start()
    yield server
    server.stop()


def kill_redis(server) -> None:
    pid = int((server.dir / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: not server.is_running(), 5, "Redis gone")


def subscribe_and_receive(server, token, create_post) -> dict | None:
    """Subscribes to postCreated; creates a post (HTTP); the event, or None if the subscription was refused."""
    with connect(server.ws, subprotocols=["graphql-transport-ws"], open_timeout=5) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=5))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "subscription { postCreated { body } }"}}))
        try:
            message = json.loads(ws.recv(timeout=1.0))  # a refusal comes at once
            return None if message["type"] == "error" else message
        except TimeoutError:
            pass
        create_post()
        try:
            return json.loads(ws.recv(timeout=3))
        except TimeoutError:
            return None


@pytest.mark.django_db(transaction=True)
def test_redis_killed_the_page_stands_and_everything_recovers_by_itself(daphne, own_redis):  # noqa: F811
    alice, bob = make_user("alice"), make_user("bob")
    user_services.follow_create(follower=bob, followee=alice)
    post = feed_services.post_create(author=alice, body="hello #faults")
    type(post).objects.filter(pk=post.pk).update(view_count=7)  # what a flush stored
    post_id = global_id("Post", post.pk)
    alice_token, bob_token = get_token(alice), get_token(bob)
    server = daphne(REDIS_URL=own_redis.url())

    status, _, body, _ = gql(server, VIEWS, {"ids": [post_id]}, bob_token)
    assert status == 200, (status, body, server.output()[-3000:])
    assert status == 200 and body["data"]["recordPostViews"]["recorded"] == 1
    assert subscribe_and_receive(server, bob_token, lambda: gql(server, "mutation { createPost(input: {body: \"one\"}) { errors { code } } }", token=alice_token))

    kill_redis(own_redis)

    # The feed page: HTTP 200 with data; viewCount is what PostgreSQL stored (the pending view is in Redis).
    status, _, body, seconds = gql(server, FEED_PAGE, token=bob_token)
    assert status == 200, body
    edges = body["data"]["feed"]["edges"]
    assert any(edge["node"]["id"] == post_id and edge["node"]["viewCount"] == 7 for edge in edges), body
    assert "errors" not in body and seconds < 3
    # A field only Redis holds: its error has a code, the rest of the response stands. (Needs loader
    # errors to stay field errors: the `inputs` branch's SafeDeferredExecutionContext.)
    status, _, body, _ = gql(server, ANALYTICS, {"id": post_id}, alice_token)
    assert status == 200 and codes(body) == ["SERVICE_UNAVAILABLE"], (body, logged_errors(server))
    assert body["data"]["node"]["viewCount"] == 7
    # Trends: computed from PostgreSQL.
    status, _, body, _ = gql(server, TRENDS)
    assert status == 200 and "errors" not in body, body
    # A write that needs no Redis works (its event and analytics count are lost, not the like).
    status, _, body, _ = gql(server, LIKE, {"id": post_id}, bob_token)
    assert status == 200 and body["data"]["likePost"] == {"post": {"likeCount": 1}, "errors": []}, body
    # Recording views needs Redis: an error code, not a 500.
    status, _, body, _ = gql(server, VIEWS, {"ids": [post_id]}, bob_token)
    assert status == 200 and codes(body) == ["SERVICE_UNAVAILABLE"], body
    # A new subscription is refused with the code (or simply gets nothing), never a broken socket.
    assert subscribe_and_receive(server, bob_token, lambda: None) is None

    own_redis.start()  # the same socket: the server reconnects by itself

    eventually(lambda: not codes(gql(server, VIEWS, {"ids": [post_id]}, bob_token)[2]), what="view recording")
    status, _, body, _ = eventually(lambda: (lambda r: r if not codes(r[2]) else None)(
        gql(server, ANALYTICS, {"id": post_id}, alice_token)))
    assert body["data"]["node"]["analytics"]["uniqueViewerCount"] >= 1
    event = eventually(lambda: subscribe_and_receive(
        server, bob_token, lambda: gql(server, "mutation { createPost(input: {body: \"back\"}) { errors { code } } }",
                                       token=alice_token)), 20, "subscriptions")
    assert event["type"] == "next" and event["payload"]["data"]["postCreated"]["body"] in ("back",), event


# --- PostgreSQL --------------------------------------------------------------------------------
@pytest.fixture
def own_postgres(tmp_path):
    server = embedded.EmbeddedPostgres()
    server.dir = tmp_path / "postgres"
    server.start()
    env = {**os.environ, "DATABASE_URL": server.url(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("TEST_DATABASE_NAME", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True,
                   timeout=120)
    yield server
    server.stop()


def psql(server, sql: str) -> str:
    info = server._info()
    return subprocess.run(
        [str(Path(info.process.exe()).parent / "psql"), "-h", str(server.dir), "-U", "postgres", "-d", "social",
         "-At", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()


def test_postgres_restarted_fast_503s_no_500_and_exact_counters(own_postgres, settings):
    server = start_daphne({"DATABASE_URL": own_postgres.url(), "REDIS_URL": settings.REDIS_URL,
                           "REDIS_KEY_PREFIX": f"{settings.REDIS_KEY_PREFIX}-pgfault"})
    try:
        tokens = []
        for name in ("ann", "ben", "cat"):
            status, _, body, _ = gql(server, REGISTER.replace("$e", f'"{name}@example.com"'), {"u": name})
            assert status == 200 and body["data"]["register"]["errors"] == [], body
            tokens.append(body["data"]["register"]["token"])
        status, _, body, _ = gql(server, 'mutation { createPost(input: {body: "counted"}) { post { id } } }',
                                 token=tokens[0])
        post_id = body["data"]["createPost"]["post"]["id"]
        for token in tokens[:2]:  # pooled connections in use before the restart
            assert gql(server, LIKE, {"id": post_id}, token)[0] == 200

        own_postgres.stop()
        outcomes = []
        for query, variables, token in ((FEED_PAGE, None, tokens[2]), (LIKE, {"id": post_id}, tokens[2]),
                                        ("{ posts(first: 5) { edges { node { id } } } }", None, None)):
            status, headers, body, seconds = gql(server, query, variables, token)
            outcomes.append((status, codes(body), seconds))
            assert status == 503, (status, body)
            assert headers.get("Retry-After") and codes(body) and set(codes(body)) == {"SERVICE_UNAVAILABLE"}, body
            assert seconds <= 2.5, f"{seconds:.2f} s to fail"

        own_postgres.start()
        # Every request after the restart succeeds: stale pooled connections are replaced before use.
        for _ in range(10):
            status, _, body, _ = gql(server, FEED_PAGE, token=tokens[1])
            assert status == 200 and "errors" not in body, body
        status, _, body, _ = gql(server, LIKE, {"id": post_id}, tokens[2])
        assert status == 200 and body["data"]["likePost"]["post"]["likeCount"] == 3, body
        # The like refused while PostgreSQL was down applied nothing; the counters are exact.
        assert psql(own_postgres, "SELECT count(*) FROM interactions_like") == "3"
        assert psql(own_postgres, "SELECT sum(like_count) FROM feed_post") == "3"
        assert psql(own_postgres, "SELECT post_count FROM users_user WHERE username = 'ann'") == \
            psql(own_postgres, "SELECT count(*) FROM feed_post")
        assert "500" not in {str(s) for s, _, _ in outcomes}
    finally:
        server.stop()


def test_make_run_starts_a_dead_embedded_server_again(tmp_path):
    """config/run.py's watch: embedded Redis and PostgreSQL killed with SIGKILL are running again after one check."""
    from config import run

    redis_server, postgres = embedded.EmbeddedRedis(), embedded.EmbeddedPostgres()
    redis_server.dir, postgres.dir = tmp_path / "redis", tmp_path / "postgres"
    redis_server.start()
    postgres.start()
    try:
        kill_redis(redis_server)
        postgres._info().process.send_signal(signal.SIGKILL)
        eventually(lambda: not postgres.is_running(), 10, "PostgreSQL gone")
        run.watch([redis_server, postgres])
        assert redis_server.is_running() and postgres.is_running()
        assert "1" in psql(postgres, "SELECT 1")
    finally:
        redis_server.stop()
        postgres.stop()
