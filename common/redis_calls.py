"""The round trips every request makes to Redis, on a connection of the thread's own.

redis-py's ``Redis.execute_command`` takes a connection from its pool and gives it back, and runs its retry
policy and observability hooks around every command: about half of the CPU of a round trip that hiredis
parses (~30 of ~55 µs, `bench` figures in docs/benchmarks.md). The commands a request always sends — the
budget charge (a script), a concurrency slot's release — go through :func:`command` instead: one connection
per thread and process, made with the client's own connection settings (address, timeouts, protocol), used
for one command at a time and kept. Anything that goes wrong on it (a connection error, a timeout, a reply
that cannot be read) drops it, and the command runs once more through the client itself, with its retries
and reconnects; an error reply (a missing script: ``NoScriptError``) is raised as the client raises it.
"""

from __future__ import annotations

import os
import threading

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

_local = threading.local()


def _connection(client):
    connections = getattr(_local, "connections", None)
    if connections is None or _local.pid != os.getpid():  # none yet in this thread, or a forked child's copy
        connections = _local.connections = {}
        _local.pid = os.getpid()
    found = connections.get(id(client))
    if found is not None and found[0] is client:
        return found[1]
    pool = client.connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)
    connections[id(client)] = (client, connection)
    return connection


def _drop(client) -> None:
    found = getattr(_local, "connections", {}).pop(id(client), None)
    if found is not None:
        try:
            found[1].disconnect()
        except Exception:  # noqa: BLE001 - it is being thrown away
            pass


def command(client, *args):
    """``client.execute_command(*args)`` for a command with no response callback (EVALSHA, ZREM...): the
    reply as the server sent it."""
    try:
        connection = _connection(client)
        connection.send_command(*args)
        return connection.read_response()
    except ResponseError:
        raise  # the server's answer: the connection is fine
    except (RedisConnectionError, RedisTimeoutError, OSError, ValueError):
        _drop(client)
        return client.execute_command(*args)
    except BaseException:
        _drop(client)  # a reply half read (an interrupted thread...): never reuse that connection
        raise


def evalsha(client, script, keys, args):
    """``script(keys=keys, args=args)`` (a registered ``redis.commands.core.Script``) on the thread's connection."""
    try:
        return command(client, "EVALSHA", script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return script(keys=keys, args=args)  # the client loads it, then runs it
