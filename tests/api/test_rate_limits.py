"""Point budgets over HTTP: headers on every response, 429 with Retry-After and RATE_LIMITED, the reset,
per user and per address, batches, Query.rateLimit, write limits and the concurrency cap."""

import json
import time

import pytest
from django.test import Client
from graphql_jwt.shortcuts import get_token

from common import ratelimit
from schema.core import budget
from tests.conftest import ACCEPT

POSTS = "{ posts(first: 100) { edges { node { id } } } }"  # 100 nodes: 1 point
EXPENSIVE = "{ posts(first: 100) { edges { node { comments(first: 100) { edges { node { id } } } } } } }"  # 101
RATE = "{ rateLimit { limit remaining cost resetAt } }"


def post(query, *, token=None, address="10.0.0.1", variables=None, batch=None):
    headers = {"HTTP_ACCEPT": ACCEPT, "REMOTE_ADDR": address}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    payload = batch if batch is not None else {"query": query, "variables": variables or {}}
    return Client().post("/graphql", json.dumps(payload), content_type="application/json", **headers)


def codes(response):
    return [e["extensions"]["code"] for e in json.loads(response.content).get("errors") or []]


@pytest.fixture
def small_budget(settings):
    settings.GRAPHQL_RATE_LIMIT_POINTS = 10
    settings.GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS = 5
    settings.GRAPHQL_RATE_LIMIT_WINDOW_SECONDS = 60
    return settings


def test_every_response_carries_the_budget_headers(db, small_budget):
    first = post(POSTS)
    assert first.status_code == 200
    assert first["X-RateLimit-Limit"] == "5" and first["X-RateLimit-Used"] == "1"
    assert first["X-RateLimit-Remaining"] == "4"
    reset = int(first["X-RateLimit-Reset"])
    assert time.time() + 55 < reset <= time.time() + 61
    for response in (post("{ nope }"), post("{"), post(None, batch=[]),
                     Client().post("/graphql", "not json", content_type="application/json", REMOTE_ADDR="10.0.0.1")):
        assert response.status_code == 400
        assert response["X-RateLimit-Remaining"] == "4" and response["X-RateLimit-Reset"] == str(reset)


def test_an_anonymous_budget_runs_out_then_429_with_retry_after_and_it_resets(db, small_budget, django_assert_num_queries):
    for used in range(1, 6):
        response = post(POSTS)
        assert response.status_code == 200 and response["X-RateLimit-Used"] == str(used)
    with django_assert_num_queries(0):
        refused = post(POSTS)
    assert refused.status_code == 429 and codes(refused) == ["RATE_LIMITED"]
    body = json.loads(refused.content)
    assert "data" not in body and "costs 1 points and 0 of 5 are left" in body["errors"][0]["message"]
    assert 1 <= int(refused["Retry-After"]) <= 60 and refused["X-RateLimit-Remaining"] == "0"
    assert post(POSTS, address="10.0.0.2").status_code == 200  # another address has its own budget
    # The window ends (here: its counter expires early) and the budget is whole again.
    ratelimit._redis().pexpire(ratelimit.key(budget.BUDGET, "a:10.0.0.1"), 1)
    time.sleep(0.05)
    again = post(POSTS)
    assert again.status_code == 200 and again["X-RateLimit-Remaining"] == "4"


def test_a_query_costing_more_than_is_left_is_refused_and_costs_nothing(db, small_budget, alice):
    token = get_token(alice)
    refused = post(EXPENSIVE, token=token)  # 101 points of 10
    assert refused.status_code == 429 and codes(refused) == ["RATE_LIMITED"]
    assert refused["X-RateLimit-Used"] == "0" and refused["X-RateLimit-Limit"] == "10"
    assert post(POSTS, token=token)["X-RateLimit-Remaining"] == "9"


def test_users_are_charged_by_account_not_address(db, small_budget, alice):
    token = get_token(alice)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert post(POSTS, token=token, address=address).status_code == 200
    assert post(POSTS, token=token)["X-RateLimit-Used"] == "4"
    assert post(POSTS)["X-RateLimit-Used"] == "1"  # the address's anonymous budget is apart


def test_mutations_cost_more(db, small_budget, alice, alices_post):
    from schema.core.node import global_id

    token = get_token(alice)
    mutation = 'mutation($p: ID!) { likePost(input: {postId: $p}) { errors { code } } }'
    response = post(mutation, token=token, variables={"p": global_id("Post", alices_post.pk)})
    assert response.status_code == 200 and response["X-RateLimit-Used"] == "6"  # 1 + 5


def test_rate_limit_field_answers_limit_remaining_cost_and_reset(db, small_budget, alice):
    token = get_token(alice)
    post(POSTS, token=token)
    data = json.loads(post(RATE, token=token).content)["data"]["rateLimit"]
    assert data["limit"] == 10 and data["cost"] == 1 and data["remaining"] == 8
    assert data["resetAt"].endswith("+00:00")
    both = json.loads(post(EXPENSIVE.replace("{ posts", "{ rateLimit { cost remaining } posts"),
                           token=token).content)
    assert both.get("errors") and both["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_batches_charge_each_operation_and_carry_the_headers(db, small_budget):
    response = post(None, batch=[{"query": POSTS}] * 3)
    assert response.status_code == 200 and response["X-RateLimit-Used"] == "3"
    response = post(None, batch=[{"query": POSTS}] * 3)  # 2 fit, the third does not
    results = json.loads(response.content)
    assert response.status_code == 200 and [bool(r.get("data")) for r in results] == [True, True, False]
    assert results[2]["errors"][0]["extensions"]["code"] == "RATE_LIMITED" and "Retry-After" in response
    response = post(None, batch=[{"query": POSTS}] * 2)
    assert response.status_code == 429 and response["X-RateLimit-Remaining"] == "0"


def test_write_limits_per_user(db, settings, alice):
    settings.GRAPHQL_WRITE_LIMITS = {**settings.GRAPHQL_WRITE_LIMITS, "posts": 2}
    token = get_token(alice)
    create = 'mutation($b: String!) { createPost(input: {body: $b}) { post { id } errors { code } } }'
    for index in range(2):
        body = json.loads(post(create, token=token, variables={"b": f"post {index}"}).content)
        assert body["data"]["createPost"]["post"]["id"], body
    body = json.loads(post(create, token=token, variables={"b": "one too many"}).content)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "At most 2 posts per 3600 s" in body["errors"][0]["message"]
    assert alice.posts.count() == 2


@pytest.mark.parametrize("caching", [False, True])
def test_an_operation_the_cache_cannot_answer_takes_its_slot_with_the_charge(db, settings, alice, caching):
    """With the response cache on or off, a write (never cached) is capped like any running operation, and
    gives its slot back; one round trip takes the budget and the slot (schema/core/views.py)."""
    settings.RESPONSE_CACHE = caching
    settings.GRAPHQL_MAX_CONCURRENT_REQUESTS = 1
    token = get_token(alice)
    create = 'mutation($b: String!) { createPost(input: {body: $b}) { post { id } errors { code } } }'
    held = ratelimit.acquire("concurrent", f"u:{alice.pk}", 1)
    refused = post(create, token=token, variables={"b": "refused"})
    assert refused.status_code == 429 and codes(refused) == ["RATE_LIMITED"]
    ratelimit.release("concurrent", f"u:{alice.pk}", held)
    for index in range(2):
        assert post(create, token=token, variables={"b": f"ran {index}"}).status_code == 200
    assert sorted(alice.posts.values_list("body", flat=True)) == ["ran 0", "ran 1"]


def test_concurrent_requests_per_caller_are_capped(db, settings):
    settings.GRAPHQL_MAX_CONCURRENT_REQUESTS = 2
    held = [ratelimit.acquire("concurrent", "a:10.0.0.1", 2) for _ in range(2)]  # two requests running
    refused = post(POSTS)
    assert refused.status_code == 429 and codes(refused) == ["RATE_LIMITED"] and refused["Retry-After"] == "1"
    assert "at most 2" in json.loads(refused.content)["errors"][0]["message"]
    assert post(POSTS, address="10.0.0.2").status_code == 200
    ratelimit.release("concurrent", "a:10.0.0.1", held[0])
    assert post(POSTS).status_code == 200  # and the request gave its slot back:
    assert post(POSTS).status_code == 200


def test_a_dead_processs_slots_free_themselves():
    assert ratelimit.acquire("concurrent", "a:x", 1, hold_seconds=0.05)
    assert ratelimit.acquire("concurrent", "a:x", 1, hold_seconds=0.05) is None
    time.sleep(0.1)
    assert ratelimit.acquire("concurrent", "a:x", 1)


def test_the_charge_is_atomic_across_threads(db):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: ratelimit.charge("t", "a:y", 3, limit=100, window=60).allowed, range(60)))
    assert results.count(True) == 33  # 33 x 3 = 99; never more than the limit
    assert ratelimit.charge("t", "a:y", 0, limit=100, window=60).used == 99
