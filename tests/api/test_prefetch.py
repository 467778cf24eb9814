"""Nested data loaded with the page (schema/core/prefetch.py): the same answers and statements, finished futures."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import parse

from schema.core import prefetch
from schema.core.loaders import Loader

from tests.perf.test_query_counts import FEED_PAGE, NEWEST_POSTS, feed_viewer  # noqa: F401 - the fixture


class Squares(Loader):
    calls: list = []

    def batch(self, keys):
        Squares.calls.append(list(keys))
        return [ValueError("no") if key < 0 else key * key for key in keys]


def test_a_prefetched_batch_answers_later_loads_with_finished_futures():
    class Context:
        pass

    Squares.calls = []
    loader = Squares.of(Context())
    loader.prefetch([1, 2, 2, -1])
    assert Squares.calls == [[1, 2, -1]]
    assert loader.load(2).done() and loader.load(2).result() == 4
    failed = loader.load(-1)
    assert failed.done() and isinstance(failed.exception(), ValueError)
    assert not loader.load(3).done()  # not prefetched: batched at dispatch as always
    loader.prefetch([1, 2])
    assert Squares.calls == [[1, 2, -1]]  # nothing asked twice


def test_only_plain_selections_are_prefetched():
    class Info:
        fragments = {}

    def node(text):
        return parse("{ " + text + " }").definitions[0].selection_set.selections[0]

    allowed = {"id": None, "author": {"username": None}}
    assert prefetch.selects_only(Info, node("c { edges { node { id author { username } } } }"), allowed, "edges", "node")
    assert not prefetch.selects_only(Info, node("c { edges { node { id replies { id } } } }"), allowed, "edges", "node")
    assert not prefetch.selects_only(Info, node("c { edges { node { author { posts { id } } } } }"), allowed,
                                     "edges", "node")
    assert not prefetch.selects_only(Info, node("c { edges { node { id @skip(if: true) } } }"), allowed, "edges", "node")


def test_the_standard_pages_answer_the_same_with_their_statements_pinned(gql, feed_viewer):  # noqa: F811
    for query, user, statements in ((NEWEST_POSTS, None, 2), (FEED_PAGE, feed_viewer, None)):
        gql(query, {"first": 20}, user=user)
        with CaptureQueriesContext(connection) as ctx:
            with_prefetch = gql(query, {"first": 20}, user=user)
        counted = len(ctx.captured_queries)  # before the next request resets Django's query log
        registered = dict(prefetch._prefetchers)
        prefetch._prefetchers.clear()
        try:
            without = gql(query, {"first": 20}, user=user)
        finally:
            prefetch._prefetchers.update(registered)
        assert with_prefetch.status == 200 and not with_prefetch.errors
        assert with_prefetch.body == without.body
        if statements is not None:
            assert counted == statements
