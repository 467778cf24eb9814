"""What every background task shares: reliability defaults and the dead-letter queue.

Apps write their tasks in ``<app>/tasks.py`` with :func:`task` (a ``shared_task`` with the base class
below), so every task is:

- **acks_late**: the message is acknowledged after the task ran, so a worker that dies mid-task
  leaves it to be delivered again (each task is idempotent: running it twice changes nothing more);
- **retried with exponential back-off** on transient errors (:data:`TRANSIENT`: database or Redis
  connection trouble, the soft time limit): 2 s, 4 s, 8 s … at most ``retry_backoff_max``, with
  jitter, up to ``max_retries`` times;
- **time limited**: ``soft_time_limit`` raises :class:`~celery.exceptions.SoftTimeLimitExceeded` in the
  task (retried like a transient error), ``time_limit`` kills it;
- **dead-lettered when it fails for good** (a non-transient error, retries exhausted, the hard time
  limit): never retried forever. On RabbitMQ the worker rejects the message and the queue's
  dead-letter exchange parks it in ``<prefix>.dead_letter``; on Redis (no dead-letter exchange) and for
  the hard time limit (which Celery acknowledges) :func:`park` copies it there first. Either way the
  failure is logged with the task id and ``python -m common.dead_letters`` lists, replays or purges it.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery import Task as CeleryTask
from celery.exceptions import SoftTimeLimitExceeded

logger = logging.getLogger("tasks")


def _transient() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerOperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError, BrokerOperationalError,
            SoftTimeLimitExceeded)


TRANSIENT = _transient()


class Task(CeleryTask):
    """The base class of the service's tasks (see the module docstring)."""

    abstract = True
    acks_late = True
    acks_on_failure = False   # failed for good: rejected, so RabbitMQ dead-letters it
    acks_on_timeout = True    # killed by the hard limit: Celery would requeue it forever; park() copies it
    reject_on_worker_lost = False
    retry_on_worker_lost = True  # a worker killed under it: retried like a transient error, then parked
    ignore_result = True
    autoretry_for = TRANSIENT
    max_retries = 5
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    soft_time_limit = 120
    time_limit = 150


def task(*args, **options):
    """``@task`` / ``@task(soft_time_limit=…, …)``: a shared task with :class:`Task` as its base."""
    options.setdefault("base", Task)
    return shared_task(*args, **options)


def enqueue_on_commit(name: str, *args) -> None:
    """Queues the task ``name`` with ``args`` after the current transaction commits (nothing on a rollback).

    By name, so a service needs no import of a tasks module. A broker that cannot be reached is logged,
    never raised into the request that already committed: what the task would have done is found later
    by a sweep (e.g. feed.sweep_deleted_posts), so the work is late, not lost.
    """
    from django.db import transaction

    def send():
        from celery import current_app

        try:
            current_app.send_task(name, args=list(args))
        except Exception:  # noqa: BLE001 - the write committed; the sweep catches up
            logger.exception("could not queue %s%r; the sweep will", name, tuple(args))

    transaction.on_commit(send)


# --- the dead-letter queue -----------------------------------------------------------------
def broker_dead_letters_natively(app=None) -> bool:
    """RabbitMQ (amqp) dead-letters rejected messages itself; kombu's Redis transport drops them."""
    from celery import current_app

    app = app or current_app
    return app.connection_for_write().transport.driver_type == "amqp"


def park(task, task_id: str, args, kwargs, reason: BaseException | str) -> None:
    """Copies a failed task's message into the dead-letter queue (the Redis broker, the hard time limit)."""
    from django.conf import settings

    request = task.request
    headers = {
        "dead_letter_reason": str(reason)[:1000] if isinstance(reason, str) else repr(reason)[:1000],
        "dead_letter_retries": int(getattr(request, "retries", 0) or 0),
    }
    request_id = getattr(request, "request_id", None)
    if request_id:
        headers["request_id"] = request_id
    task.app.send_task(
        task.name, args=list(args or ()), kwargs=dict(kwargs or {}), task_id=task_id,
        queue=settings.CELERY_DEAD_LETTER_QUEUE_OBJECT, headers=headers, retries=0,
    )


def dead_letter_messages(limit: int = 100, *, remove: bool = False):
    """Up to ``limit`` messages of the dead-letter queue as ``(message, headers)``; removed only when asked.

    Unremoved messages go back to the queue (they are rejected with requeue) when the connection closes.
    """
    from celery import current_app
    from django.conf import settings

    out = []
    with current_app.connection_for_read() as connection:
        queue = settings.CELERY_DEAD_LETTER_QUEUE_OBJECT(connection.default_channel)
        queue.declare()
        while len(out) < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            out.append(message)
        for message in out:
            if remove:
                message.ack()
        result = [(m, dict(m.headers or {})) for m in out]
        if not remove:
            for message in out:
                message.requeue()
    return result


def replay_dead_letters(limit: int = 100) -> int:
    """Moves up to ``limit`` parked messages back to the task queue (retries counted from 0). Returns how many."""
    from celery import current_app
    from django.conf import settings

    moved = 0
    with current_app.connection_for_write() as connection:
        channel = connection.default_channel
        dead = settings.CELERY_DEAD_LETTER_QUEUE_OBJECT(channel)
        dead.declare()
        tasks = settings.CELERY_TASK_QUEUE_OBJECT(channel)
        tasks.declare()
        producer = connection.Producer(channel)
        while moved < limit:
            message = dead.get(no_ack=False)
            if message is None:
                break
            headers = {k: v for k, v in (message.headers or {}).items()
                       if k not in ("x-death", "x-first-death-exchange", "x-first-death-queue",
                                    "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue",
                                    "x-last-death-reason", "dead_letter_reason", "dead_letter_retries")}
            headers["retries"] = 0
            properties = {k: v for k, v in (message.properties or {}).items()
                          if k in ("correlation_id", "reply_to", "priority")}
            producer.publish(
                message.body, exchange=tasks.exchange, routing_key=tasks.routing_key,
                headers=headers, content_type=message.content_type, content_encoding=message.content_encoding,
                delivery_mode=2, **properties,
            )
            message.ack()
            moved += 1
    return moved
