"""The per-request health check of a persistent PostgreSQL connection (common/postgres/base.py): no round
trip while the connection is sound, and a terminated one is found before a request uses it."""

import time

import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _server_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_sound_idle_connection_is_usable_without_a_statement():
    _server_pid()  # connected, idle (autocommit, no transaction open)
    raw = connection.connection
    calls = []
    real_cursor = raw.cursor
    raw.cursor = lambda *a, **k: calls.append(a) or real_cursor(*a, **k)
    try:
        assert connection.is_usable()
    finally:
        del raw.cursor
    assert calls == []  # no SELECT 1


def test_a_terminated_connection_is_not_usable_and_is_replaced_before_use():
    pid = _server_pid()
    params = {k: v for k, v in connection.get_connection_params().items()
              if k in ("host", "port", "user", "password", "dbname")}
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()
    # A request closes the unusable connection first (the health check at its start) and answers.
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None
    assert _server_pid() != pid
