"""The response cache (schema/core/response_cache.py, common/response_cache_bus.py) against real Redis and
PostgreSQL: hits run no SQL, keys separate what differs, viewer-dependent answers bypass it, and an edit,
a deletion or an account change is never answered after its commit — from this process's memory or from
Redis ("another process": the memory layer cleared). Counters may lag by at most the staleness.

Transactional tests: the writes really commit, so the after-commit invalidation really runs.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from common import response_cache_bus
from common.metrics import RESPONSE_CACHE
from feed import services as feed_services
from interactions import services as interactions
from schema.core import persisted, response_cache
from tests.conftest import ACCEPT
from users import services as user_services
from users.purge import purge_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("response_cache_on")]

POST = """query Post($id: ID!) { post(id: $id) { id body likeCount author { username displayName }
  comments(first: 5) { edges { node { body } } } } }"""
POSTS = "query Posts($first: Int!) { posts(first: $first) { edges { node { body author { username } } } } }"
USER = "query User($name: String!) { user(username: $name) { username displayName bio } }"


def ask(query: str, variables: dict | None = None, *, method: str = "post", headers: dict | None = None,
        client: Client | None = None):
    client = client or Client()
    extra = {"HTTP_ACCEPT": ACCEPT, **(headers or {})}
    if method == "get":
        params = {"query": query}
        if variables:
            params["variables"] = json.dumps(variables)
        return client.get("/graphql", params, **extra)
    return client.post("/graphql", json.dumps({"query": query, "variables": variables or {}}),
                       content_type="application/json", **extra)


def data(response) -> dict:
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert "errors" not in body, body
    return body["data"]


def counted(outcome: str) -> float:
    return RESPONSE_CACHE.labels(outcome)._value.get()


def sql_of(query: str, variables: dict | None = None, **kwargs) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as ctx:
        answer = data(ask(query, variables, **kwargs))
    return answer, len(ctx.captured_queries)


def another_process() -> None:
    """What a second process sees: nothing in its memory layer, the entries in Redis."""
    response_cache.memory.clear()


@pytest.fixture
def post(alice, bob):
    post = feed_services.post_create(author=alice, body="first words")
    interactions.comment_create(author=bob, post_id=post.pk, body="a comment")
    return post


def gid(post) -> dict:
    return {"id": to_global_id("Post", post.pk)}


# --- hits, keys, bypass ---------------------------------------------------------------------------------
def test_a_repeated_anonymous_query_is_answered_without_sql(post, caplog):
    first, first_sql = sql_of(POST, gid(post))
    hits = counted("hit")
    with caplog.at_level(logging.INFO, logger="request"):
        again, again_sql = sql_of(POST, gid(post))
    assert first_sql > 0 and again_sql == 0
    assert again == first and again["post"]["body"] == "first words"
    assert counted("hit") == hits + 1
    line = [r for r in caplog.records if r.name == "request"][-1]
    assert line.response_cache == "hit" and line.operation == "Post"

    another_process()  # from Redis: still no SQL, and now in this process's memory too
    assert sql_of(POST, gid(post)) == (first, 0)
    assert len(response_cache.memory) == 1


def test_get_and_post_share_entries_and_get_answers_carry_an_etag(post):
    first = data(ask(POST, gid(post)))
    with CaptureQueriesContext(connection) as ctx:
        response = ask(POST, gid(post), method="get")
    assert data(response) == first and len(ctx.captured_queries) == 0
    assert response["ETag"] == f'"{response_cache.etag_of(response.content.decode())}"'
    assert response["Cache-Control"].startswith("public, max-age=")


def test_different_variables_are_different_entries(alice):
    for n in range(3):
        feed_services.post_create(author=alice, body=f"post {n}")
    one, _ = sql_of(POSTS, {"first": 1})
    two, _ = sql_of(POSTS, {"first": 2})
    assert len(one["posts"]["edges"]) == 1 and len(two["posts"]["edges"]) == 2
    assert sql_of(POSTS, {"first": 1}) == (one, 0)
    assert sql_of(POSTS, {"first": 2}) == (two, 0)
    # The same variables in another order are the same entry; another operation name is not.
    named = "query A { posts(first: 1) { edges { node { body } } } } query B { posts(first: 2) { edges { node { body } } } }"
    a = data(Client().post("/graphql", json.dumps({"query": named, "operationName": "A"}),
                           content_type="application/json"))
    b = data(Client().post("/graphql", json.dumps({"query": named, "operationName": "B"}),
                           content_type="application/json"))
    assert len(a["posts"]["edges"]) == 1 and len(b["posts"]["edges"]) == 2


def test_viewer_dependent_answers_are_never_cached(post, alice):
    from graphql_jwt.shortcuts import get_token

    auth = {"HTTP_AUTHORIZATION": f"Bearer {get_token(alice)}"}
    viewer = "query { viewer { username } post(id: \"%s\") { viewerCanUpdate } }" % gid(post)["id"]
    bypasses = counted("bypass")
    for _ in range(2):
        answer, queries = sql_of(viewer, headers=auth)
        assert answer["viewer"]["username"] == "alice" and answer["post"]["viewerCanUpdate"] is True
        assert queries > 0
    assert counted("bypass") == bypasses + 2
    # The anonymous answer of the same document is its own entry: no viewer, no rights.
    anonymous = data(ask(viewer))
    assert anonymous == {"viewer": None, "post": {"viewerCanUpdate": False}}
    assert sql_of(viewer) == (anonymous, 0)
    # Authenticated, even a viewer-independent document runs.
    assert sql_of(POST, gid(post), headers=auth)[1] > 0


def test_introspection_with_a_token_is_public(alice):
    from graphql_jwt.shortcuts import get_token

    auth = {"HTTP_AUTHORIZATION": f"Bearer {get_token(alice)}"}
    query = "{ __type(name: \"Post\") { name } }"
    hits = counted("hit")
    assert data(ask(query, headers=auth)) == {"__type": {"name": "Post"}}
    assert data(ask(query, headers=auth)) == {"__type": {"name": "Post"}}
    assert counted("hit") == hits + 1


def test_the_callers_budget_is_never_cached_and_hits_are_charged(post):
    query = "{ rateLimit { remaining } }"
    first = data(ask(query))["rateLimit"]["remaining"]
    second = data(ask(query))["rateLimit"]["remaining"]
    assert second == first - 1  # ran again: the budget moved

    ask(POST, gid(post))
    used = [int(ask(POST, gid(post))["X-RateLimit-Used"]) for _ in range(2)]
    assert used[1] > used[0]  # a hit costs its points too


def test_mutations_and_batches_are_not_cached(post):
    batch = json.dumps([{"query": POSTS, "variables": {"first": 1}}] * 2)
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            response = Client().post("/graphql", batch, content_type="application/json")
        assert response.status_code == 200 and len(ctx.captured_queries) > 0
    response = Client().post("/graphql", json.dumps({"query": "mutation { revokeToken(refreshToken: \"x\") { revoked } }"}),
                             content_type="application/json")
    assert response["Cache-Control"] == "no-store"
    assert len(response_cache.memory) == 0


def test_errors_are_not_cached(post):
    query = "query ($id: ID!) { post(id: $id) { id } unreadNotificationCount }"
    for _ in range(2):
        response = ask(query, gid(post))
        body = json.loads(response.content)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response["Cache-Control"] == "no-store"
    assert len(response_cache.memory) == 0


# --- invalidation: never served after the commit ---------------------------------------------------------
@pytest.fixture(params=["memory", "redis"])
def reader(request):
    """Reads as this process (the memory layer present) or as another one (only Redis)."""

    def read(query, variables=None):
        if request.param == "redis":
            another_process()
        return data(ask(query, variables))

    return read


def test_an_edited_post_is_never_served_after_its_commit(post, alice, reader):
    assert reader(POST, gid(post))["post"]["body"] == "first words"
    assert sql_of(POST, gid(post))[1] == 0  # cached
    feed_services.post_update(viewer=alice, post_id=post.pk, body="second thoughts")
    assert reader(POST, gid(post))["post"]["body"] == "second thoughts"
    assert [e["node"]["body"] for e in reader(POSTS, {"first": 5})["posts"]["edges"]] == ["second thoughts"]


def test_a_deleted_post_is_never_served_after_its_commit(post, alice, reader):
    assert reader(POST, gid(post))["post"] is not None
    assert len(reader(POSTS, {"first": 5})["posts"]["edges"]) == 1
    feed_services.post_delete(viewer=alice, post_id=post.pk)
    assert reader(POST, gid(post))["post"] is None
    assert reader(POSTS, {"first": 5})["posts"]["edges"] == []


def test_a_deleted_or_edited_comment_is_never_served_after_its_commit(post, bob, reader):
    comments = lambda: [e["node"]["body"] for e in reader(POST, gid(post))["post"]["comments"]["edges"]]  # noqa: E731
    assert comments() == ["a comment"]
    comment = post.comments.get()
    interactions.comment_update(user=bob, comment_id=comment.pk, body="an edited comment")
    assert comments() == ["an edited comment"]
    interactions.comment_delete(user=bob, comment_id=comment.pk)
    assert comments() == []


def test_a_deactivated_author_is_never_served_after_the_commit(post, alice, reader):
    assert reader(USER, {"name": "alice"})["user"]["username"] == "alice"
    alice.is_active = False
    alice.save()
    assert reader(USER, {"name": "alice"})["user"] is None


def test_a_deleted_account_and_its_posts_are_never_served_after_the_commit(post, alice, reader):
    assert reader(POST, gid(post))["post"]["author"]["username"] == "alice"
    assert reader(USER, {"name": "alice"})["user"] is not None
    user_services.user_delete(alice)
    assert reader(POST, gid(post))["post"] is None
    assert reader(USER, {"name": "alice"})["user"] is None


def test_a_purge_ends_the_generation(post, bob):
    data(ask(POST, gid(post)))
    before = response_cache_bus.current()
    user_services.user_delete(bob)
    after_delete = response_cache_bus.current()
    assert after_delete > before
    purge_user(bob.pk, limit=1)
    assert response_cache_bus.current() > after_delete
    another_process()
    assert data(ask(POST, gid(post)))["post"]["comments"]["edges"] == []


def test_a_profile_edit_is_never_served_after_its_commit(alice, reader):
    assert reader(USER, {"name": "alice"})["user"]["displayName"] == "Alice"
    user_services.user_update_profile(alice, display_name="Ada", bio="engines")
    assert reader(USER, {"name": "alice"})["user"] == {"username": "alice", "displayName": "Ada", "bio": "engines"}


def test_a_login_does_not_end_the_generation(alice):
    from django.contrib.auth.models import update_last_login

    before = response_cache_bus.current()
    update_last_login(None, alice)
    assert response_cache_bus.current() == before


def test_a_rolled_back_edit_ends_no_generation(post, alice):
    cached = data(ask(POST, gid(post)))
    before = response_cache_bus.current()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            feed_services.post_update(viewer=alice, post_id=post.pk, body="never committed")
            raise RuntimeError("roll back")
    assert response_cache_bus.current() == before
    assert sql_of(POST, gid(post)) == (cached, 0)


def test_a_lost_generation_key_restarts_above_every_earlier_generation():
    old = response_cache_bus.bump()
    response_cache_bus.redis().delete(response_cache_bus.generation_key())
    assert response_cache_bus.current() > old
    response_cache_bus.redis().delete(response_cache_bus.generation_key())
    assert response_cache_bus.bump() > old


# --- counters: late by at most the staleness, refreshed by one request ---------------------------------
def test_a_like_shows_within_the_staleness(post, bob, settings):
    settings.RESPONSE_CACHE_MAX_STALENESS = 0.5
    began = time.time()
    assert data(ask(POST, gid(post)))["post"]["likeCount"] == 0
    interactions.like_create(user=bob, post_id=post.pk)
    lagging = data(ask(POST, gid(post)))["post"]["likeCount"]
    if time.time() - began < 0.45:  # (a loaded machine may take longer than the staleness to get here)
        assert lagging == 0  # a counter may lag...
    time.sleep(0.55)
    assert data(ask(POST, gid(post)))["post"]["likeCount"] == 1  # ...by at most the staleness
    another_process()
    assert data(ask(POST, gid(post)))["post"]["likeCount"] == 1


def test_one_refresh_lock_per_entry():
    key = response_cache.key_of("schema", "{ a }", None, None, response_cache.ANONYMOUS)
    token = response_cache.try_lock(key)
    assert token is not None
    assert response_cache.try_lock(key) is None  # any other request, in any process
    response_cache.release_lock(key, "someone else's token")
    assert response_cache.try_lock(key) is None
    response_cache.release_lock(key, token)
    assert response_cache.try_lock(key) is not None


def test_a_stale_entry_is_refreshed_by_one_request_while_the_others_get_it(post, bob, settings):
    settings.RESPONSE_CACHE_MAX_STALENESS = 0.2
    stale = data(ask(POST, gid(post)))
    interactions.like_create(user=bob, post_id=post.pk)
    time.sleep(0.25)
    key = response_cache.memory.keys()[0]
    found = response_cache.lookup(key)  # this one refreshes: it holds the lock
    assert found.outcome == "miss" and found.lock is not None and found.entry is None
    stale_served = counted("stale")
    with CaptureQueriesContext(connection) as ctx:  # meanwhile: the stale copy, no SQL
        assert data(ask(POST, gid(post))) == stale
    another_process()
    assert data(ask(POST, gid(post))) == stale
    assert len(ctx.captured_queries) == 0 and counted("stale") == stale_served + 2
    response_cache.finish(found)
    fresh = data(ask(POST, gid(post)))
    assert fresh["post"]["likeCount"] == 1


def test_an_entry_past_staleness_and_refresh_time_is_not_served(post, bob, settings):
    settings.RESPONSE_CACHE_MAX_STALENESS = 0.1
    settings.RESPONSE_CACHE_REFRESH_SECONDS = 0.1
    data(ask(POST, gid(post)))
    interactions.like_create(user=bob, post_id=post.pk)
    key = response_cache.memory.keys()[0]
    assert response_cache.try_lock(key) is not None  # a refresher that never finishes
    time.sleep(0.25)
    assert data(ask(POST, gid(post)))["post"]["likeCount"] == 1


def test_the_memory_layer_is_bounded_in_bytes(alice, settings):
    size = len('{"data":{"posts":{"edges":[]}}}') + response_cache.ENTRY_OVERHEAD  # every answer: no posts
    settings.RESPONSE_CACHE_MEMORY_BYTES = 3 * size
    for n in range(1, 8):
        data(ask(POSTS, {"first": n}))
    assert len(response_cache.memory) == 3 and response_cache.memory.bytes == 3 * size
    # The least recently used went: the last three stay (from memory: their Redis copies are gone).
    redis = response_cache_bus.redis()
    for key in list(redis.scan_iter(response_cache.key_of("", "", None, None, "")[:-64] + "*")):
        if key.decode() != response_cache_bus.generation_key():
            redis.delete(key)
    for n in (5, 6, 7):
        assert sql_of(POSTS, {"first": n})[1] == 0
    assert sql_of(POSTS, {"first": 1})[1] > 0


# --- HTTP: ETag, 304 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cache", [True, False])
def test_if_none_match_gets_304_with_the_request_id_and_budget(post, settings, cache):
    settings.RESPONSE_CACHE = cache
    first = ask(POST, gid(post), method="get")
    etag = first["ETag"]
    assert etag.startswith('"') and first.status_code == 200
    again = ask(POST, gid(post), method="get", headers={"HTTP_IF_NONE_MATCH": etag, "HTTP_X_REQUEST_ID": "abc-123"})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["X-Request-ID"] == "abc-123"
    assert again["Cache-Control"].startswith("public, max-age=")
    assert int(again["X-RateLimit-Used"]) > int(first["X-RateLimit-Used"])
    other = ask(POST, gid(post), method="get", headers={"HTTP_IF_NONE_MATCH": '"other"'})
    assert other.status_code == 200 and other["ETag"] == etag


def test_a_persisted_document_get_is_cached_with_an_etag(post):
    digest = persisted.sha256(POSTS)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    Client().post("/graphql", json.dumps({"query": POSTS, "variables": {"first": 1}, "extensions": extensions}),
                  content_type="application/json")
    params = {"extensions": json.dumps(extensions), "variables": json.dumps({"first": 1})}
    with CaptureQueriesContext(connection) as ctx:
        response = Client().get("/graphql", params, HTTP_ACCEPT=ACCEPT)
    assert response.status_code == 200 and len(ctx.captured_queries) == 0
    assert response["ETag"] and response["Cache-Control"].startswith("public, max-age=")
    again = Client().get("/graphql", params, HTTP_ACCEPT=ACCEPT, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_off_nothing_is_kept(post, settings):
    settings.RESPONSE_CACHE = False
    for _ in range(2):
        assert sql_of(POST, gid(post))[1] > 0
    assert len(response_cache.memory) == 0
