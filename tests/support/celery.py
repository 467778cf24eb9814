"""A real Celery worker for tests: in-process (``celery.contrib.testing``), against the real broker.

The broker is the one the settings name: RabbitMQ when ``CELERY_BROKER_URL`` is set (``.ci/run`` sets the
machine's), else the test run's Redis through kombu's Redis transport. Never eager mode: messages go
through the broker and the worker acknowledges, retries and dead-letters them as in production.

- ``celery_worker`` fixture (transactional: the worker thread sees committed rows only): purges this run's
  task and dead-letter queues before and after the test; the worker thread (solo pool) is started once
  for the run (``_celery_worker_thread``). tests/conftest.py registers this module as a plugin: use the
  fixtures by name, never import them (an imported session fixture is one more worker per module).
- ``wait_until(check, timeout)``: polls until ``check()`` is truthy (the worker runs asynchronously).
- ``dead_letters(task_name)``: the parked messages of a task (removed from the queue).

Once started, the worker takes every task of the run, also those other tests enqueue in passing (a deleted
account's purge, say): after each test's call, before its fixtures are torn down (a transactional test's
TRUNCATE would deadlock with a purge still writing), ``pytest_runtest_call`` waits until the worker has
nothing running, reserved or queued.
"""

from __future__ import annotations

import time
import warnings

import pytest
from django.conf import settings


def purge_queues() -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in (settings.CELERY_TASK_QUEUE_OBJECT, settings.CELERY_DEAD_LETTER_QUEUE_OBJECT):
            bound = queue(channel)
            bound.declare()
            bound.purge()


_started = False


def _queued() -> int:
    from config.celery import app

    try:
        with app.connection_for_write() as connection:
            queue = settings.CELERY_TASK_QUEUE_OBJECT(connection.default_channel)
            return queue.queue_declare(passive=True).message_count
    except Exception:  # noqa: BLE001 - no answer: nothing to wait for
        return 0


def _worker_busy() -> bool:
    from celery.worker import state

    return bool(state.active_requests or state.reserved_requests) or _queued() > 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    if not _started:
        return
    deadline = time.monotonic() + 30
    idle_checks = 0
    while time.monotonic() < deadline and idle_checks < 2:  # idle twice in a row: nothing was in flight
        idle_checks = 0 if _worker_busy() else idle_checks + 1
        time.sleep(0.05)


@pytest.fixture(scope="session")
def _celery_worker_thread(django_db_setup, django_db_blocker):
    """One worker thread for the whole run (stopping one takes up to 10 s on RabbitMQ: its drain timeout)."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    # The worker thread shares the GIL with a busy test process for the whole run: no AMQP heartbeats (a
    # missed one makes RabbitMQ drop the connection) and no remote-control queue (an exclusive queue the
    # dropped connection may still hold: the reconnect then fails with RESOURCE_LOCKED and the worker dies).
    app.conf.broker_heartbeat = 0
    app.conf.worker_enable_remote_control = False
    with django_db_blocker.unblock():
        purge_queues()
        try:
            with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30,
                              loglevel="WARNING") as worker:
                global _started
                _started = True
                try:
                    yield worker
                finally:
                    _started = False
        except RuntimeError as error:  # the (daemon) thread did not stop in time at the end of the run
            warnings.warn(f"celery test worker: {error}")


@pytest.fixture
def celery_worker(transactional_db, _celery_worker_thread):
    """The run's worker, with this run's queues emptied before and after the test."""
    purge_queues()
    yield _celery_worker_thread
    purge_queues()


def wait_until(check, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {timeout} s: {check}")
        time.sleep(interval)


def dead_letters(task_name: str, timeout: float = 10.0) -> list[dict]:
    """The headers of the parked messages of ``task_name`` (waiting up to ``timeout`` for the first)."""
    from common.tasks import dead_letter_messages

    found: list[dict] = []

    def check():
        for _message, headers in dead_letter_messages(remove=True):
            if headers.get("task") == task_name:
                found.append(headers)
        return found

    try:
        wait_until(check, timeout)
    except AssertionError:
        pass
    return found
