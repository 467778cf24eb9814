"""SQL query counting for tests, after Zulip's assert_database_query_count: pin an exact number and,
when it is wrong, print every statement that ran so the extra (or missing) one is plain to see."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext


def format_queries(queries: list[dict]) -> str:
    return "\n".join(f"{i}. {q['sql']}" for i, q in enumerate(queries, 1))


@contextmanager
def assert_database_query_count(count: int, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[CaptureQueriesContext]:
    """Fail unless the block runs exactly `count` SQL statements; the failure lists them all.

        with assert_database_query_count(4):
            gql(FEED_PAGE, {"first": 20}, user=viewer)

    Yields the CaptureQueriesContext (its `captured_queries` hold the statements)."""
    with CaptureQueriesContext(connections[using]) as ctx:
        yield ctx
    actual = len(ctx.captured_queries)
    if actual != count:
        raise AssertionError(f"{actual} SQL queries ran, expected {count}:\n{format_queries(ctx.captured_queries)}")
