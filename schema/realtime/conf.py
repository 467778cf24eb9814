"""Limits and timings of the websocket layer; override any of them with ``settings.REALTIME = {...}``."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # graphql-transport-ws: close 4408 when connection_init has not arrived within this many seconds.
    "CONNECTION_INIT_TIMEOUT": 3.0,
    # Active operations (subscriptions, plus queries and mutations still running) per connection.
    "MAX_OPERATIONS": 100,
    # Messages a client may send per second (bursts of twice as many); more closes the connection with 4429.
    "MAX_MESSAGES_PER_SECOND": 100,
    # Largest incoming message, in bytes (UTF-8).
    "MAX_MESSAGE_BYTES": 64 * 1024,
    # Outgoing messages waiting to be written to one connection.
    "QUEUE_MAX_MESSAGES": 512,
    "QUEUE_MAX_BYTES": 1024 * 1024,
    # graphql-transport-ws flow control: once this many bytes were sent that the client has not
    # confirmed by answering a ping, the server pings; past the hard limit the client is too slow
    # and is closed with 4503.
    "LAG_PING_BYTES": 64 * 1024,
    "LAG_MAX_BYTES": 1024 * 1024,
    # Legacy graphql-ws: seconds between `ka` keep-alive messages.
    "KEEPALIVE_INTERVAL": 12.0,
    # postUpdated: at most one update per post per interval (seconds) per process, trailing edge.
    "POST_UPDATED_INTERVAL": 0.25,
    # Threads running ORM work and GraphQL execution for websockets (each holds one DB connection).
    "EXECUTOR_THREADS": 4,
    # Events waiting for execution per channel-layer group before the oldest are dropped.
    "MAX_PENDING_EVENTS": 10_000,
}


def conf(name: str):
    overrides = getattr(settings, "REALTIME", None) or {}
    return overrides.get(name, DEFAULTS[name])
