"""The Celery plumbing against the real broker and a real worker: retries with back-off, the dead-letter
queue (RabbitMQ's dead-letter exchange, or the copy on Redis), replay, the request id in the worker."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core.cache import cache

from common.request_id import use_request_id
from common.tasks import broker_dead_letters_natively, replay_dead_letters
from tests.support import tasks
from tests.support.celery import dead_letters, wait_until

pytestmark = pytest.mark.slow


def test_the_broker_is_the_configured_one():
    from config.celery import app

    driver = app.connection_for_write().transport.driver_type
    if settings.CELERY_BROKER_URL.startswith("amqp"):
        assert driver == "amqp" and broker_dead_letters_natively(app)
    else:
        assert driver == "redis" and not broker_dead_letters_natively(app)


def test_a_task_carries_the_request_id_of_the_request_that_queued_it(celery_worker):
    with use_request_id("req-abc.123"):
        tasks.record_request_id.delay("t:rid")
    assert wait_until(lambda: cache.get("t:rid")) == "req-abc.123"
    tasks.record_request_id.delay("t:rid2")  # queued outside a request
    assert wait_until(lambda: cache.get("t:rid2")) == "-"


def counted(task: str, outcome: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("celery_tasks_total", {"task": task, "outcome": outcome}) or 0.0


def test_a_transient_failure_is_retried_with_back_off_until_it_succeeds(celery_worker):
    retried, succeeded = counted("tests.transient_then_ok", "retried"), counted("tests.transient_then_ok", "succeeded")
    started = time.monotonic()
    tasks.transient_then_ok.delay("t:transient", 2)
    assert wait_until(lambda: cache.get("t:transient:done"), timeout=30) == 3
    # back-off 1 s then 2 s (retry_backoff=1, no jitter)
    assert time.monotonic() - started >= 2.5
    wait_until(lambda: counted("tests.transient_then_ok", "succeeded") == succeeded + 1)
    assert counted("tests.transient_then_ok", "retried") == retried + 2


def test_retries_run_out_then_the_message_is_parked(celery_worker):
    tasks.always_transient.delay("t:always")
    parked = dead_letters("tests.always_transient", timeout=30)
    assert len(parked) == 1
    assert cache.get("t:always") == 3  # the first run and 2 retries, then no more


def test_a_poison_message_is_parked_at_once_and_can_be_replayed(celery_worker):
    failed = counted("tests.poison", "failed")
    result = tasks.poison.delay("t:poison")
    wait_until(lambda: cache.get("t:poison") == 1)
    time.sleep(0.5)
    assert cache.get("t:poison") == 1  # never retried
    from common.tasks import dead_letter_messages

    parked = wait_until(lambda: [h for _, h in dead_letter_messages() if h.get("task") == "tests.poison"])
    assert parked[0]["id"] == result.id
    assert replay_dead_letters() == 1  # back to the task queue: it runs once more, and is parked again
    wait_until(lambda: cache.get("t:poison") == 2)
    assert [h["id"] for h in dead_letters("tests.poison")] == [result.id]
    assert counted("tests.poison", "failed") == failed + 2


def test_an_unknown_task_is_not_lost(celery_worker):
    from config.celery import app

    if not broker_dead_letters_natively(app):
        pytest.skip("kombu's Redis transport drops a message the worker rejects (documented)")
    app.send_task("tests.no_such_task", args=[1])
    assert len(dead_letters("tests.no_such_task", timeout=15)) == 1
