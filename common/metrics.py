"""Prometheus metrics: defined here, counted where things happen, served at /metrics (config/ops_views.py).

Multiprocess-safe: with ``PROMETHEUS_MULTIPROC_DIR`` set (``make run`` and the containers set it) every
process — daphne, each Celery worker child, beat — writes its samples to files in that directory and
/metrics adds them up; the directory must be emptied when the service starts (``make run`` does). Unset,
the samples stay in the process (tests, a single ``manage.py`` command).

Label values are bounded: GraphQL operation names are the client's, so at most
:data:`MAX_OPERATION_NAMES` distinct names are kept per process, the rest count as ``other``.
"""

from __future__ import annotations

import os
import re
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SQL_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 25, 50, 100)

# --- HTTP / GraphQL -----------------------------------------------------------------------
REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by route, GraphQL operation name (\"-\" outside /graphql, \"anonymous\" unnamed, "
    "\"batch\" several) and outcome (ok, graphql_error, client_error, server_error).",
    ["route", "operation", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "HTTP request latency by route and GraphQL operation name.",
    ["route", "operation"], buckets=LATENCY_BUCKETS,
)
REQUEST_SQL = Histogram(
    "http_request_sql_statements", "SQL statements run per HTTP request, by route and GraphQL operation name.",
    ["route", "operation"], buckets=SQL_BUCKETS,
)

# --- websockets ---------------------------------------------------------------------------
WEBSOCKET_CONNECTIONS = Gauge(
    "websocket_open_connections", "Open websocket connections.", multiprocess_mode="livesum",
)
WEBSOCKET_CONNECTIONS_TOTAL = Counter("websocket_connections_total", "Websocket connections accepted.")
SUBSCRIPTIONS = Gauge(
    "graphql_active_subscriptions", "GraphQL subscriptions running over websockets.", multiprocess_mode="livesum",
)

# --- the event bus ------------------------------------------------------------------------
EVENTS_PUBLISHED = Counter("events_published_total", "Domain events published to the channel layer.", ["kind"])
EVENTS_DELIVERED = Counter(
    "events_delivered_total", "Subscription results (one per subscriber and event) handed to websocket connections.",
)

# --- Celery -------------------------------------------------------------------------------
TASKS = Counter(
    "celery_tasks_total",
    "Celery task runs by task and outcome (succeeded, retried, failed; failed ones are dead-lettered).",
    ["task", "outcome"],
)
TASK_SECONDS = Histogram(
    "celery_task_duration_seconds", "Celery task run time.", ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 150.0),
)

# --- limits and caches --------------------------------------------------------------------
RATE_LIMIT_REFUSALS = Counter(
    "rate_limit_refusals_total", "Requests or operations refused by a rate limit, by limit name.", ["limit"],
)
CACHE_REQUESTS = Counter(
    "cache_requests_total", "Application cache look-ups by cache and result (hit, miss).", ["cache", "result"],
)

RESPONSE_CACHE = Counter(
    "graphql_response_cache_total",
    "GraphQL operations over HTTP by what the response cache did (with RESPONSE_CACHE on): hit (a fresh answer "
    "served), stale (a stale copy served while another request refreshes it), miss (run and stored), bypass "
    "(not cacheable: viewer-dependent, a mutation, a batch, Redis unavailable).",
    ["outcome"],
)


def count_response_cache(outcome: str) -> None:
    RESPONSE_CACHE.labels(outcome).inc()


def count_cache(cache: str, hit: bool) -> None:
    CACHE_REQUESTS.labels(cache, "hit" if hit else "miss").inc()


def count_rate_limit_refusal(limit: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limit).inc()


# --- bounded operation names --------------------------------------------------------------
MAX_OPERATION_NAMES = 500
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
_names: set[str] = set()
_names_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "other"
    if name in _names:
        return name
    with _names_lock:
        if len(_names) >= MAX_OPERATION_NAMES:
            return "other"
        _names.add(name)
    return name


# --- exposition ---------------------------------------------------------------------------
def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"))


def registry() -> CollectorRegistry:
    """The registry to expose: every process's samples (multiprocess) or this process's."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        merged = CollectorRegistry()
        mp.MultiProcessCollector(merged)
        return merged
    from prometheus_client import REGISTRY

    return REGISTRY


def exposition(*extra_collectors) -> tuple[bytes, str]:
    """The Prometheus text of :func:`registry` plus collectors computed now (e.g. queue depth)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = generate_latest(registry())
    if extra_collectors:
        now = CollectorRegistry(auto_describe=False)
        for collector in extra_collectors:
            now.register(collector)
        body += generate_latest(now)
    return body, CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drops a finished process's live gauges (websocket connections, subscriptions) from the sums."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(pid)
