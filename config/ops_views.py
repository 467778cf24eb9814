"""Operations endpoints: /healthz (alive), /readyz (dependencies), /metrics (Prometheus).

- ``GET /healthz``: 200 ``{"status": "ok"}`` whenever the process answers; touches nothing else (a
  liveness probe must not fail because PostgreSQL is down: restarting the web process would not help).
- ``GET /readyz``: checks PostgreSQL (``SELECT 1``), Redis (``PING``) and the Celery broker (a connection),
  each with a short timeout, and reports each one's latency in milliseconds; 200 ``{"status": "ready", …}``
  when all pass, else 503 ``{"status": "unavailable", "failing": ["redis"], …}`` naming the failing ones.
- ``GET /metrics``: the Prometheus text format (common/metrics.py) plus the Celery queue depths read
  now. Not public: with ``METRICS_TOKEN`` set it needs ``Authorization: Bearer <token>``; unset, only
  requests from the loopback address are answered (the balancer's clients never are: daphne runs with
  ``--proxy-headers``, so their address is the forwarded one). Others get 404.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_postgres() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


_redis_client = None


def _check_redis() -> None:
    global _redis_client
    import redis

    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT,
                                             socket_connect_timeout=CHECK_TIMEOUT)
    _redis_client.ping()


def _check_broker() -> None:
    from celery import current_app

    with current_app.connection_for_write(connect_timeout=CHECK_TIMEOUT) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
                                     timeout=CHECK_TIMEOUT)
        if connection.transport.driver_type == "redis":
            connection.default_channel.client.ping()


CHECKS = {"postgres": _check_postgres, "redis": _check_redis, "broker": _check_broker}


@never_cache
def readyz(request):
    checks, failing = {}, []
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            failing.append(name)
            checks[name] = {"ok": False, "latency_ms": _ms(started), "error": f"{type(error).__name__}: {error}"[:300]}
            logger.warning("readiness: %s failing: %r", name, error, extra={"check": name})
        else:
            checks[name] = {"ok": True, "latency_ms": _ms(started)}
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing, "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


# --- /metrics ----------------------------------------------------------------------------------
def _metrics_allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        supplied = request.headers.get("Authorization", "")
        return hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


class QueueDepthCollector:
    """``celery_queue_messages{queue}``: messages waiting in the task and dead-letter queues, read at scrape time."""

    def collect(self):
        from celery import current_app
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("celery_queue_messages", "Messages waiting in a Celery queue (read now).",
                                   labels=["queue"])
        try:
            with current_app.connection_for_read(connect_timeout=CHECK_TIMEOUT) as connection:
                connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
                                             timeout=CHECK_TIMEOUT)
                for queue in (settings.CELERY_TASK_QUEUE_OBJECT, settings.CELERY_DEAD_LETTER_QUEUE_OBJECT):
                    bound = queue(connection.default_channel)
                    _, messages, _ = bound.queue_declare(passive=False)
                    family.add_metric([queue.name], messages)
        except Exception as error:  # noqa: BLE001 - a scrape never fails for the broker
            logger.warning("metrics: could not read the queue depths: %r", error)
        yield family


_queue_depth = QueueDepthCollector()


@never_cache
@require_GET
def metrics(request):
    from common.metrics import exposition

    if not _metrics_allowed(request):
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    body, content_type = exposition(_queue_depth)
    return HttpResponse(body, content_type=content_type)
