"""common/redis_calls.py against the real Redis: the per-request round trips on the thread's own connection,
kept between calls, and what happens when that connection dies or the server forgets a script."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import ResponseError

from common import ratelimit, redis_calls


@pytest.fixture
def client():
    return get_redis_connection("default")


def _key(name: str) -> str:
    return cache.make_key(f"test-redis-calls:{name}")


def test_commands_run_on_one_kept_connection_of_the_thread(client):
    client.set(_key("a"), "1")
    assert redis_calls.command(client, "GET", _key("a")) == b"1"
    first = redis_calls._connection(client)
    assert redis_calls.command(client, "INCRBY", _key("a"), 2) == 3
    assert redis_calls._connection(client) is first  # kept, not taken from the pool each time
    seen = []
    other = threading.Thread(target=lambda: seen.append(redis_calls._connection(client)))
    other.start()
    other.join()
    assert seen[0] is not first  # one per thread


def test_a_dead_connection_is_replaced_and_the_command_still_answers(client):
    redis_calls.command(client, "SET", _key("b"), "x")
    connection = redis_calls._connection(client)
    client_id = redis_calls.command(client, "CLIENT", "ID")
    client.execute_command("CLIENT", "KILL", "ID", client_id)  # the server closes it (a restart, an idle timeout)
    assert redis_calls.command(client, "GET", _key("b")) == b"x"
    assert redis_calls._connection(client) is not connection


def test_an_error_reply_is_raised_and_the_connection_kept(client):
    client.set(_key("c"), "not a number")
    connection = redis_calls._connection(client)
    with pytest.raises(ResponseError):
        redis_calls.command(client, "INCR", _key("c"))
    assert redis_calls._connection(client) is connection
    assert redis_calls.command(client, "GET", _key("c")) == b"not a number"


def test_a_script_the_server_forgot_is_loaded_again(client, settings):
    budget = ratelimit.charge("test", "a:1", 1, limit=10, window=60)
    assert budget.allowed and budget.used == 1
    client.script_flush()  # a restarted Redis knows no scripts
    budget = ratelimit.charge("test", "a:1", 2, limit=10, window=60)
    assert budget.allowed and budget.used == 3
    token = ratelimit.acquire("slots", "a:1", 1)
    assert token and ratelimit.acquire("slots", "a:1", 1) is None
    ratelimit.release("slots", "a:1", token)
    assert ratelimit.acquire("slots", "a:1", 1)
