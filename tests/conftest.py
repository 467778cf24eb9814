"""Shared fixtures: a GraphQL client over real HTTP handling, users with tokens, a clean Redis prefix."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from graphql_jwt.shortcuts import get_token

from users.models import User

# The Celery worker fixtures (one session-scoped worker thread for the whole run): registered once here,
# never imported into test modules (an imported session fixture is a new fixture per module: a second
# worker thread in the same process never becomes ready).
pytest_plugins = ["tests.support.celery"]

PASSWORD = "correct-horse-battery-staple"


@dataclass
class Response:
    status: int
    body: dict

    @property
    def data(self):
        return self.body.get("data")

    @property
    def errors(self):
        return self.body.get("errors")

    def error_codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors or []]


# What current clients (Apollo Client 4, urql, graphql-http) send: GraphQL errors come with 4xx statuses.
ACCEPT = "application/graphql-response+json, application/json;q=0.9"


class GraphQLClient:
    """Posts GraphQL to /graphql through Django's full request handling (middleware, view, auth).

    It accepts application/graphql-response+json, as current clients do (request errors are 400s).
    """

    def __init__(self) -> None:
        self.client = Client()

    def __call__(self, query: str, variables: dict | None = None, *, token: str | None = None,
                 user: User | None = None, method: str = "post", headers: dict | None = None) -> Response:
        extra = dict(headers or {})
        if user is not None:
            token = get_token(user)
        if token is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if method == "get":
            params = {"query": query}
            if variables:
                params["variables"] = json.dumps(variables)
            extra.setdefault("HTTP_ACCEPT", ACCEPT)
            response = self.client.get("/graphql", params, **extra)
        else:
            payload = {"query": query, "variables": variables or {}}
            extra.setdefault("HTTP_ACCEPT", ACCEPT)
            response = self.client.post("/graphql", json.dumps(payload), content_type="application/json", **extra)
        return Response(response.status_code, json.loads(response.content or b"{}"))


@pytest.fixture
def gql(db) -> GraphQLClient:
    return GraphQLClient()


@pytest.fixture(autouse=True)
def _generous_limits(settings):
    """Budgets no test workload reaches; the tests of the limits (tests/api/test_rate_limits.py) set small ones."""
    settings.GRAPHQL_RATE_LIMIT_POINTS = settings.GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS = 10**9
    settings.GRAPHQL_MAX_CONCURRENT_REQUESTS = 10_000
    settings.GRAPHQL_WRITE_LIMITS = {kind: 10**9 for kind in settings.GRAPHQL_WRITE_LIMITS}


@pytest.fixture(autouse=True)
def _clean_redis():
    yield
    cache.delete_pattern("*")
    clear_auth_keys()


def clear_auth_keys() -> None:
    """Login throttles and the session denylist (users/throttle.py, users/sessions.py) live outside the cache."""
    from django.conf import settings
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    keys = list(redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:auth:*", count=1000))
    if keys:
        redis.delete(*keys)


def make_user(username: str, **extra) -> User:
    user = User(username=username, email=extra.pop("email", f"{username.lower()}@example.com"),
                display_name=extra.pop("display_name", username.title()), **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def alice(db) -> User:
    return make_user("alice")


@pytest.fixture
def bob(db) -> User:
    return make_user("bob")


@pytest.fixture
def carol(db) -> User:
    return make_user("carol")


@pytest.fixture
def alices_post(alice, bob, carol):
    """alice's post "hello #tag @bob" with bob's comment "hi @alice" (`bobs_comment`), like, share and bookmark."""
    from feed import services as feed_services
    from interactions import services as interactions

    post = feed_services.post_create(author=alice, body="hello #tag @bob")
    interactions.comment_create(author=bob, post_id=post.pk, body="hi @alice")
    interactions.like_create(user=bob, post_id=post.pk)
    interactions.share_create(user=bob, post_id=post.pk, comment="look")
    interactions.bookmark_create(user=bob, post_id=post.pk)
    return post


@pytest.fixture
def bobs_comment(alices_post, bob):
    """bob's comment on `alices_post`."""
    return alices_post.comments.get(author=bob)
