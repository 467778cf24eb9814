"""The Celery application: background work on RabbitMQ (``CELERY_BROKER_URL=amqp://…``) or Redis.

One code path, two real brokers:

- ``CELERY_BROKER_URL`` set (compose, CI, production): RabbitMQ. The task queue is declared with a
  dead-letter exchange, so a message a worker rejects (a poison message: a task that failed for good,
  an unknown task name) is parked in the dead-letter queue by RabbitMQ itself.
- unset: the service's Redis (the embedded one under ``make run``) through kombu's Redis transport, so
  nothing needs installing. Redis has no dead-letter exchange: the closest equivalent is done by the
  task base class (:mod:`common.tasks`), which copies a message that failed for good into the
  dead-letter queue (a Redis list the same tools read) before the worker drops it.

Queues (names carry ``REDIS_KEY_PREFIX`` so several deployments or test runs can share a broker):
``<prefix>.tasks`` (all tasks) and ``<prefix>.dead_letter`` (parked messages; nothing consumes it;
``python -m common.dead_letters`` lists, replays or purges it).

Start: ``celery -A config worker`` and ``celery -A config beat`` (``make run`` starts both; see
docs/operations.md). Tasks live in each app's ``tasks.py`` (autodiscovered).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("social")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _keep_django_logging(**kwargs):
    """Celery leaves logging alone when this signal has a receiver: Django's LOGGING (JSON lines) applies."""
    import django

    django.setup()


# The request id, task metrics and logging hooks (connected on import).
import common.celery_hooks  # noqa: E402,F401
