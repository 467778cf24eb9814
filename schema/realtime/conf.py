"""Limits and timings of the websocket layer; override any of them with ``settings.REALTIME = {...}``."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Both protocols: close 4408 when connection_init has not arrived within this many seconds.
    "CONNECTION_INIT_TIMEOUT": 3.0,
    # Active operations (subscriptions, plus queries and mutations still running) per connection.
    "MAX_OPERATIONS": 100,
    # Messages a client may send per second (bursts of twice as many); more closes the connection with 4429.
    "MAX_MESSAGES_PER_SECOND": 100,
    # Largest incoming message, in bytes (UTF-8); larger: close 4400. (daphne itself closes 1009 past
    # its --websocket-max-message-size, 1 MiB by default: config/daphne_options.py.)
    "MAX_MESSAGE_BYTES": 64 * 1024,
    # Deepest bracket nesting of an incoming message's JSON; deeper: close 4400 (checked before parsing).
    "MAX_JSON_DEPTH": 32,
    # Operations of one connection executing at once (in the executor); the rest wait in order.
    "OPERATION_CONCURRENCY": 2,
    # Outgoing messages waiting to be written to one connection.
    "QUEUE_MAX_MESSAGES": 512,
    "QUEUE_MAX_BYTES": 1024 * 1024,
    # Slow readers, one rule for both protocols: a client with more than LAG_MAX_BYTES of output it
    # has not read is closed with 4503. Measured as daphne's unwritten bytes (both protocols) and, on
    # graphql-transport-ws, as bytes sent and not confirmed by a pong (the server pings once
    # LAG_PING_BYTES are unconfirmed), which also sees buffering proxies.
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
    # Seconds between re-checks of the authenticated sockets' accounts and sessions (closed with 4403
    # when disabled, deleted or logged out; events close them at once, schema/realtime/sessions.py).
    "AUTH_RECHECK_INTERVAL": 10.0,
}


def conf(name: str):
    overrides = getattr(settings, "REALTIME", None) or {}
    return overrides.get(name, DEFAULTS[name])
