"""Tasks for the infrastructure tests (tests/infra/test_celery.py): they record what happened in Redis."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import OperationalError

from common.request_id import get_request_id
from common.tasks import task


logger = logging.getLogger("tests.tasks")


@task(name="tests.record_request_id")
def record_request_id(key: str) -> None:
    logger.info("recording the request id under %s", key)
    cache.set(key, get_request_id() or "-", 60)


@task(name="tests.transient_then_ok", retry_backoff=1, retry_jitter=False, max_retries=3)
def transient_then_ok(key: str, failures: int) -> None:
    attempt = cache.incr(key) if cache.get(key) is not None else (cache.set(key, 1, 60) or 1)
    if attempt <= failures:
        raise OperationalError(f"transient failure {attempt}")
    cache.set(f"{key}:done", attempt, 60)


@task(name="tests.always_transient", retry_backoff=1, retry_jitter=False, max_retries=2)
def always_transient(key: str) -> None:
    cache.set(key, (cache.get(key) or 0) + 1, 60)
    raise OperationalError("the database stays away")


@task(name="tests.poison")
def poison(key: str) -> None:
    cache.set(key, (cache.get(key) or 0) + 1, 60)
    raise ValueError("this payload can never be processed")
