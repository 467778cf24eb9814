"""Celery signal receivers (connected when config/celery.py imports this module).

- The id of the request that queued a task travels as the message header ``request_id`` and is set in
  the worker while the task runs, so the worker's log lines carry it (with ``task_id`` and ``task_name``).
- Task runs, retries, failures and durations are counted (common.metrics).
- A task that failed for good is logged with its id and parked in the dead-letter queue where the
  broker does not do it itself (common.tasks.park).
- ``CELERY_METRICS_PORT`` set: the worker serves its metrics (all its processes) on that port, for
  deployments where the worker does not share ``PROMETHEUS_MULTIPROC_DIR`` with the web processes.
"""

from __future__ import annotations

import logging
import os
import time

from celery import signals

logger = logging.getLogger("tasks")

_running: dict[str, tuple[float, object]] = {}


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    from common.request_id import get_request_id

    request_id = get_request_id()
    if headers is not None and request_id and not headers.get("request_id"):
        headers["request_id"] = request_id


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs):
    from common.request_id import use_request_id

    scope = use_request_id(getattr(task.request, "request_id", None))
    scope.__enter__()
    _running[task_id] = (time.monotonic(), scope)


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    from common import metrics

    started, scope = _running.pop(task_id, (None, None))
    if started is not None:
        metrics.TASK_SECONDS.labels(task.name).observe(time.monotonic() - started)
    if state == "SUCCESS":
        metrics.TASKS.labels(task.name, "succeeded").inc()
    if scope is not None:
        try:
            scope.__exit__(None, None, None)
        except ValueError:  # reset in another context (should not happen); never fail the worker
            pass


@signals.task_retry.connect
def _task_retried(request=None, reason=None, sender=None, **kwargs):
    from common import metrics

    name = getattr(sender, "name", None) or getattr(request, "task", "?")
    metrics.TASKS.labels(name, "retried").inc()
    logger.warning("task %s[%s] will be retried (attempt %s): %r", name, getattr(request, "id", "?"),
                   (getattr(request, "retries", 0) or 0) + 1, reason,
                   extra={"task_id": getattr(request, "id", None), "task_name": name})


@signals.task_failure.connect
def _task_failed(sender=None, task_id=None, exception=None, args=None, kwargs=None, **extra):
    from celery.exceptions import TimeLimitExceeded

    from common import metrics
    from common.tasks import broker_dead_letters_natively, park

    name = getattr(sender, "name", "?")
    metrics.TASKS.labels(name, "failed").inc()
    retries = getattr(getattr(sender, "request", None), "retries", 0) or 0
    parked_by = "the broker"
    if isinstance(exception, TimeLimitExceeded) or not broker_dead_letters_natively(sender.app):
        parked_by = "a copy"
        try:
            park(sender, task_id, args, kwargs, exception)
        except Exception:  # noqa: BLE001 - the failure itself is logged below either way
            parked_by = "nothing (could not copy it)"
            logger.exception("task %s[%s]: could not park the failed message", name, task_id,
                             extra={"task_id": task_id, "task_name": name})
    logger.error("task %s[%s] failed for good after %s retries, parked in the dead-letter queue by %s: %r",
                 name, task_id, retries, parked_by, exception,
                 extra={"task_id": task_id, "task_name": name, "dead_lettered": True})


@signals.worker_ready.connect
def _serve_worker_metrics(**kwargs):
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port:
        return
    from prometheus_client import start_http_server

    from common import metrics

    start_http_server(int(port), addr=os.environ.get("CELERY_METRICS_ADDR", "0.0.0.0"), registry=metrics.registry())


@signals.worker_process_shutdown.connect
def _child_gone(pid=None, **kwargs):
    from common import metrics

    metrics.mark_process_dead(pid or os.getpid())
