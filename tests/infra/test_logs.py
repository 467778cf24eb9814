"""Logs: one JSON line per request (request id, operation, status, duration, SQL count, user id), no duplicate
line for a 4xx, the request id on every line written while a request is handled and in the worker."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.cache import cache
from django.test import Client
from graphql_jwt.shortcuts import get_token

from common.logs import JsonFormatter, TaskLogFilter
from common.request_id import RequestIDLogFilter, use_request_id
from tests.support import tasks
from tests.support.celery import wait_until


@pytest.fixture
def log_lines():
    """The JSON lines the service writes (its production formatter and filters), parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIDLogFilter())
    handler.addFilter(TaskLogFilter())
    handler.setFormatter(JsonFormatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)

    def lines():
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)


def test_one_json_line_per_request_with_operation_user_status_duration_and_sql(db, alice, log_lines):
    client = Client()
    response = client.post("/graphql", json.dumps({"query": "query Me { viewer { username } }"}),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {get_token(alice)}",
                           HTTP_X_REQUEST_ID="client-id-1")
    assert response.status_code == 200 and response["X-Request-ID"] == "client-id-1"
    lines = [line for line in log_lines() if line["logger"] == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "client-id-1"
    assert (line["method"], line["path"], line["status"], line["operation"], line["outcome"]) == \
        ("POST", "/graphql", 200, "Me", "ok")
    assert line["user_id"] == alice.pk
    assert line["sql_count"] >= 1 and line["duration_ms"] > 0
    assert line["level"] == "INFO" and line["time"].endswith("Z") and line["message"] == "POST /graphql 200"


@pytest.mark.parametrize("path, body, status", [
    ("/graphql", '{"query": "query Broken {"}', 400),
    ("/no-such-page", None, 404),
])
def test_a_4xx_is_written_once(db, log_lines, path, body, status):
    client = Client()
    # A client accepting application/graphql-response+json gets a parse error as HTTP 400 (the spec).
    response = (client.post(path, body, content_type="application/json",
                            HTTP_ACCEPT="application/graphql-response+json") if body else client.get(path))
    assert response.status_code == status
    lines = log_lines()
    assert [line["status"] for line in lines if line["logger"] == "request"] == [status]
    assert not [line for line in lines if line["logger"].startswith("django")]  # no "Bad Request: …" twin
    assert lines[-1]["request_id"] == response["X-Request-ID"]
    assert lines[-1]["level"] == "WARNING" and lines[-1]["user_id"] is None


def test_health_and_static_lines_carry_their_request_id(db, log_lines):
    client = Client()
    for path in ("/healthz", "/static/graphiql/app.css"):
        response = client.get(path)
        assert response.status_code == 200
        line = log_lines()[-1]
        assert line["path"] == path and line["request_id"] == response["X-Request-ID"]
        assert line["route"] == ("healthz" if path == "/healthz" else "static")


def test_every_line_during_a_request_has_its_id(db, log_lines):
    with use_request_id("outer-request"):
        logging.getLogger("feed").warning("something noteworthy")
    logging.getLogger("feed").warning("outside any request")
    ids = [line["request_id"] for line in log_lines() if line["logger"] == "feed"]
    assert ids == ["outer-request", "-"]


def test_worker_lines_carry_the_task_and_the_request_that_queued_it(celery_worker, log_lines):
    with use_request_id("queued-by-me"):
        result = tasks.record_request_id.delay("t:logs")
    wait_until(lambda: cache.get("t:logs"))
    lines = [line for line in log_lines() if line["logger"] == "tests.tasks"]
    assert len(lines) == 1
    assert lines[0]["request_id"] == "queued-by-me"
    assert lines[0]["task_id"] == result.id and lines[0]["task_name"] == "tests.record_request_id"


def test_a_huge_value_in_an_error_never_makes_a_huge_log_line(db, log_lines, monkeypatch):
    """An unexpected error quoting a request parameter (a database error citing a 2 MB value, say) is logged with
    its traceback, cut in the middle: no line holds the whole parameter."""
    from schema.users.loaders import ViewerFollows
    from tests.conftest import make_user

    huge = "x" * 2_000_000
    make_user("alice2")

    def failing(self, keys):
        raise ValueError(f"invalid input: {huge}")

    monkeypatch.setattr(ViewerFollows, "batch", failing)
    token = get_token(make_user("bob2"))
    response = Client().post("/graphql", json.dumps({"query": '{ user(username: "alice2") { viewerIsFollowing } }'}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    errors = [line for line in log_lines() if line["logger"] == "schema.errors"]
    assert len(errors) == 1 and "ValueError: invalid input" in errors[0]["exc_info"]
    assert "characters cut" in errors[0]["exc_info"]
    assert all(len(json.dumps(line)) < 40_000 for line in log_lines())
