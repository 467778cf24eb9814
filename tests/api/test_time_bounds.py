"""Time bounds: the request deadline (GRAPHQL_EXECUTION_TIMEOUT, code TIMEOUT), PostgreSQL's statement_timeout on
the server's connections, and work that stops when the client goes away."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from django.db import OperationalError, connection, transaction
from graphql import GraphQLError

from feed.models import Post
from interactions.models import Like
from users.models import User

from tests.conftest import make_user
from tests.support.live_server import daphne, test_database_url  # noqa: F401 - fixture

HEAVY = "{ posts(first: 100) { edges { node { id body likes(first: 100) { edges { node { user { username " \
        "posts(first: 100) { edges { node { id body } } } } } } } } } } }"


def test_an_operation_past_its_deadline_stops_with_timeout(gql, settings):
    author = make_user("author")
    Post.objects.bulk_create(Post(author=author, body=f"p{i}") for i in range(30))
    settings.GRAPHQL_EXECUTION_TIMEOUT = 1e-9
    r = gql("{ posts(first: 30) { edges { node { id author { username } } } } }")
    assert r.status == 200, r.body  # the operation ran (and was stopped): not a request error
    assert r.data is None and r.error_codes() == ["TIMEOUT"], r.body
    assert "longer than" in r.errors[0]["message"] and r.errors[0]["path"]


def test_the_deadline_is_per_request_and_off_at_zero(gql, settings):
    make_user("someone")
    settings.GRAPHQL_EXECUTION_TIMEOUT = 0
    r = gql("{ users(first: 5) { edges { node { username } } } }")
    assert r.status == 200 and not r.errors and r.data["users"]["edges"]
    settings.GRAPHQL_EXECUTION_TIMEOUT = 10
    assert not gql("{ users(first: 5) { edges { node { username } } } }").errors


def test_a_cancelled_statement_is_a_timeout_field_error(db):
    from schema.core.execution import format_error

    with pytest.raises(OperationalError) as caught:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: the test's transaction goes on
            cursor.execute("SET LOCAL statement_timeout = '20ms'")
            cursor.execute("SELECT pg_sleep(1)")
    formatted = format_error(GraphQLError("x", path=["posts"], original_error=caught.value), "rid")
    assert formatted["extensions"] == {"code": "TIMEOUT"}
    assert "pg_sleep" not in formatted["message"]


def _show_statement_timeout(env: dict) -> str:
    code = ("import django; django.setup(); from django.db import connection; c = connection.cursor(); "
            "c.execute('SHOW statement_timeout'); print(c.fetchone()[0])")
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": test_database_url(), **env}
    full.pop("DB_STATEMENT_TIMEOUT_MS", None) if "DB_STATEMENT_TIMEOUT_MS" not in env else None
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_server_connections_get_a_statement_timeout_matching_the_deadline(db):
    assert _show_statement_timeout({"DB_POOL": "1"}) == "10s"  # what config/asgi.py's processes get
    assert _show_statement_timeout({"DB_POOL": "1", "GRAPHQL_EXECUTION_TIMEOUT": "3"}) == "3s"
    assert _show_statement_timeout({"DB_POOL": "1", "DB_STATEMENT_TIMEOUT_MS": "1500"}) == "1500ms"
    # config/wsgi.py's processes (the production HTTP tier): no pool, the same bound.
    assert _show_statement_timeout({"DB_POOL": "0", "DB_SERVER_PROCESS": "1"}) == "10s"
    # Management commands: migrations, the seed's COPY.
    assert _show_statement_timeout({"DB_POOL": "0", "DB_SERVER_PROCESS": "0"}) == "0"


@pytest.fixture
def heavy_data(transactional_db):
    users = User.objects.bulk_create(User(username=f"u{i}", email=f"u{i}@example.com") for i in range(100))
    posts = Post.objects.bulk_create(Post(author=users[i], body=f"post {i}") for i in range(100))
    Like.objects.bulk_create(Like(user=u, post=p) for p in posts for u in users)
    return posts


def test_work_stops_when_the_client_disconnects(daphne, heavy_data):  # noqa: F811
    server = daphne(GRAPHQL_EXECUTION_TIMEOUT="60", GRAPHQL_MAX_NODES="1000000000")  # heavy on purpose
    body = ('{"query": "' + HEAVY.replace('"', '\\"') + '"}').encode()
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        time.sleep(0.5)  # the server is resolving
    deadline = time.monotonic() + 30
    while "The client went away" not in server.output():
        assert time.monotonic() < deadline, server.output()[-3000:]
        time.sleep(0.2)
    assert "stopped at" in server.output()
