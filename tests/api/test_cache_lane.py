"""The response cache's lane in front of Django (schema/core/cache_lane.py), through the production WSGI
application, against real Redis and PostgreSQL: a repeat gets the full path's answer (body and headers)
without Django, charged and logged as any hit; everything it cannot answer goes to the full path, which
never charges twice; an edit is never answered after its commit.

Transactional tests: the writes really commit, so the after-commit invalidation really runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging

import pytest
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from common.metrics import RESPONSE_CACHE
from feed import services as feed_services
from schema.core import cache_lane, response_cache
from schema.core.cache_lane import CacheLane

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("response_cache_on")]

POST = """query Post($id: ID!) { post(id: $id) { id body likeCount author { username } } }"""
PER_REQUEST = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset"}


@pytest.fixture
def lane():
    return CacheLane(get_wsgi_application())


@pytest.fixture
def post(alice):
    return feed_services.post_create(author=alice, body="first words")


class Answer:
    def __init__(self, status: str, headers: list, body: bytes):
        self.status, self.headers, self.body = status, headers, body
        self.header = {name.lower(): value for name, value in headers}

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def without_per_request(self) -> tuple:
        return self.status, [(n, v) for n, v in self.headers if n.lower() not in PER_REQUEST], self.body


def call(app, body: bytes | dict, *, method: str = "POST", headers: dict | None = None, query_string: str = "",
         remote: str = "10.1.2.3", path: str = "/graphql") -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": query_string,
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": remote,
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw),
               "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(), "wsgi.multithread": False,
               "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
               "HTTP_HOST": "testserver", "HTTP_ACCEPT": "application/json", **(headers or {})}
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, list(response_headers)

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Answer(seen["status"], seen["headers"], content)


def page(post) -> dict:
    return {"query": POST, "variables": {"id": to_global_id("Post", post.pk)}}


@pytest.fixture
def django_requests():
    """How many requests reached Django's handler (its request_started signal)."""
    seen = []

    def started(**kwargs):
        seen.append(1)

    request_started.connect(started, dispatch_uid="test_cache_lane")
    yield seen
    request_started.disconnect(dispatch_uid="test_cache_lane")


def hits() -> float:
    return RESPONSE_CACHE.labels("hit")._value.get()


def test_a_repeat_gets_the_full_paths_answer_without_django_charged_and_logged(lane, post, caplog, django_requests):
    first = call(lane, page(post))  # a miss: the full path runs and stores it
    assert first.status == "200 OK" and first.json["data"]["post"]["body"] == "first words"
    assert len(lane) == 1
    by_django = call(lane.application, page(post))  # a hit through the full path (Django itself)
    before, reached = hits(), len(django_requests)
    with CaptureQueriesContext(connection) as sql, caplog.at_level(logging.INFO, logger="request"):
        repeat = call(lane, page(post), headers={"HTTP_X_REQUEST_ID": "lane-check-1"})
    assert len(sql.captured_queries) == 0 and hits() == before + 1 and len(django_requests) == reached
    assert repeat.without_per_request() == by_django.without_per_request()
    assert [n for n, _ in repeat.headers] == [n for n, _ in by_django.headers]
    assert repeat.header["x-request-id"] == "lane-check-1"
    assert repeat.header["content-length"] == str(len(repeat.body))
    # Charged the same points as the full path's hit, from the same budget.
    points = int(by_django.header["x-ratelimit-used"]) - int(first.header["x-ratelimit-used"])
    assert points > 0
    assert int(repeat.header["x-ratelimit-used"]) == int(by_django.header["x-ratelimit-used"]) + points
    line = [r for r in caplog.records if r.name == "request"][-1]
    assert (line.response_cache, line.operation, line.status, line.sql_count, line.request_id, line.route) == (
        "hit", "Post", 200, 0, "lane-check-1", "graphql")


def test_an_edit_is_never_answered_after_its_commit_and_the_full_path_does_not_charge_again(
        lane, post, alice, django_requests):
    call(lane, page(post))
    used = int(call(lane, page(post)).header["x-ratelimit-used"])
    reached = len(django_requests)
    points = int(call(lane, page(post)).header["x-ratelimit-used"]) - used
    assert len(django_requests) == reached  # answered by the lane
    feed_services.post_update(viewer=alice, post_id=post.pk, body="second thoughts")
    after = call(lane, page(post))  # the lane charged, saw another generation, handed on prepaid
    assert len(django_requests) == reached + 1
    assert after.json["data"]["post"]["body"] == "second thoughts"
    assert int(after.header["x-ratelimit-used"]) == used + 2 * points  # charged once, not twice
    again = call(lane, page(post))
    assert again.json["data"]["post"]["body"] == "second thoughts"
    assert int(again.header["x-ratelimit-used"]) == used + 3 * points


def test_a_deleted_post_is_never_answered_after_its_commit(lane, post, alice):
    for _ in range(2):
        assert call(lane, page(post)).json["data"]["post"]["body"] == "first words"
    feed_services.post_delete(viewer=alice, post_id=post.pk)
    assert call(lane, page(post)).json["data"]["post"] is None


def test_only_exact_repeats_of_bodies_alone_decide_are_answered(lane, post, alice):
    from graphql_jwt.shortcuts import get_token

    call(lane, page(post))
    assert len(lane) == 1
    # Another Accept header is another request (the media type differs): learnt on its own.
    other = call(lane, page(post), headers={"HTTP_ACCEPT": "application/graphql-response+json"})
    assert other.header["content-type"] == "application/graphql-response+json" and len(lane) == 2
    # A token, a GET, a query string, a persisted-document reference: never learnt.
    call(lane, page(post), headers={"HTTP_AUTHORIZATION": f"Bearer {get_token(alice)}"})
    call(lane, page(post), query_string="pretty=1")
    persisted = {**page(post), "extensions": {"persistedQuery": {"version": 1,
                                                                 "sha256Hash": hashlib.sha256(POST.encode()).hexdigest()}}}
    call(lane, persisted)
    assert call(lane, persisted).status == "200 OK"
    assert len(lane) == 2
    # A mutation or an error is not an answer of the cache: nothing to repeat.
    call(lane, {"query": "query ($id: ID!) { post(id: $id) { id } unreadNotificationCount }",
                "variables": page(post)["variables"]})
    assert len(lane) == 2


def test_a_refused_charge_gets_the_full_paths_429(lane, post, settings):
    call(lane, page(post))
    call(lane, page(post))
    settings.GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS = 1  # a setting changed: the lane forgets what it learnt
    assert len(lane) == 0
    call(lane, page(post), remote="10.9.9.9")  # learns again, charged to a fresh address
    refused = call(lane, page(post), remote="10.9.9.9")
    assert refused.status.startswith("429") and refused.json["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "retry-after" in refused.header


def test_a_stale_entry_goes_to_the_full_path_which_refreshes_it(lane, post, bob, settings):
    from interactions import services as interactions

    call(lane, page(post))
    settings.RESPONSE_CACHE_MAX_STALENESS = 0.0  # every entry is stale now
    call(lane, page(post))  # learnt again (settings changed), refreshed by the full path
    interactions.like_create(user=bob, post_id=post.pk)  # a counter: no new generation
    assert call(lane, page(post)).json["data"]["post"]["likeCount"] == 1


def test_a_body_the_lane_read_reaches_django_whole(lane, alice):
    mutation = {"query": 'mutation { createPost(input: {body: "through the lane"}) { post { body } } }'}
    from graphql_jwt.shortcuts import get_token

    answer = call(lane, mutation, headers={"HTTP_AUTHORIZATION": f"Bearer {get_token(alice)}"})
    assert answer.json["data"]["createPost"]["post"]["body"] == "through the lane"
    anonymous = call(lane, {"query": "{ posts(first: 1) { edges { node { body } } } }"})
    assert anonymous.json["data"]["posts"]["edges"] == [{"node": {"body": "through the lane"}}]
    assert call(lane, b"{not json").status.startswith("400")
    learnt = len(lane)
    assert call(lane, b"a=1", path="/healthz").status.startswith("403")  # not the API: Django's answer (CSRF)
    assert len(lane) == learnt


def test_off_the_lane_passes_everything_on(lane, post, settings):
    settings.RESPONSE_CACHE = False
    for _ in range(2):
        assert call(lane, page(post)).status == "200 OK"
    assert len(lane) == 0
    assert not cache_lane.PREPAID.startswith("HTTP_")  # never mistaken for a request header


def test_what_the_lane_remembers_is_bounded_in_bytes(lane, alice, settings, django_requests):
    posts = [feed_services.post_create(author=alice, body=f"post {n}") for n in range(6)]
    call(lane, page(posts[0]))
    one = lane.bytes
    assert one > len(json.dumps(page(posts[0])))
    settings.CACHE_LANE_BYTES = 3 * one + one // 2  # room for three (a setting changed: it forgot the first)
    for post in posts:
        call(lane, page(post))
    assert len(lane) == 3 and lane.bytes <= settings.CACHE_LANE_BYTES
    before, reached = hits(), len(django_requests)
    call(lane, page(posts[-1]))  # the newest are kept: answered by the lane
    assert hits() == before + 1 and len(django_requests) == reached
    call(lane, page(posts[0]))  # the oldest were forgotten: Django answers
    assert len(django_requests) == reached + 1
