"""A small, bounded thread pool for the websocket layer's ORM and GraphQL work.

The event loop never touches the database: every job runs here, and a job does a
whole batch (one event for all of its subscribers) in one hop. Each thread keeps
one database connection (closed when unusable or older than CONN_MAX_AGE, as
Django does around requests).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import wraps

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

from .conf import conf

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=int(conf("EXECUTOR_THREADS")),
                                               thread_name_prefix="realtime")
    return _executor


def _job(fn):
    @wraps(fn)
    def run(*args, **kwargs):
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        except StopIteration as error:
            # A StopIteration cannot be set on an asyncio future: the awaiting task would hang for ever.
            raise RuntimeError(f"{fn.__qualname__} raised StopIteration") from error
        finally:
            close_old_connections()

    return run


async def run_sync(fn, *args, **kwargs):
    """Runs ``fn(*args, **kwargs)`` in the pool. Code in it may publish events (async_to_sync works)."""
    return await sync_to_async(_job(fn), thread_sensitive=False, executor=_pool())(*args, **kwargs)


def shutdown(timeout: float = 10.0) -> None:
    """Closes every worker's database connection and stops the pool (tests, process exit)."""
    global _executor
    with _lock:
        pool, _executor = _executor, None
    if pool is None:
        return
    workers = pool._max_workers
    barrier = threading.Barrier(workers)

    def close():
        # The barrier makes every worker thread take exactly one of these jobs.
        try:
            barrier.wait(timeout)
        except threading.BrokenBarrierError:
            pass
        connections.close_all()

    futures = [pool.submit(close) for _ in range(workers)]
    for future in futures:
        future.result(timeout + 1)
    pool.shutdown(wait=True)
