"""Compiled query shapes (common.prepared): the same rows and instances as the ORM, one compile per shape.

The hot pages (the posts list, every nested first-rows list) run their SQL through compiled shapes; these
tests hold the fast path to what the ORM gives for the same query set, and pin that it falls back where it
does not apply.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from common import prepared
from common.sql import first_per_parent
from feed.models import Post
from interactions.models import Comment
from interactions.selectors import first_comments
from schema.core.connection import NEWEST_FIRST, paginate

from tests.conftest import make_user


@pytest.fixture
def posts(db):
    prepared.clear()
    authors = [make_user(f"writer{i}") for i in range(3)]
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    made = []
    for i in range(12):
        post = Post.objects.create(author=authors[i % 3], body=f"post {i}")
        # Ties on created_at (pairs of posts): the id breaks them.
        Post.objects.filter(pk=post.pk).update(created_at=base + datetime.timedelta(minutes=i // 2))
        made.append(post)
    for i, post in enumerate(made[:4]):
        for j in range(i + 1):
            Comment.objects.create(post=post, author=authors[j % 3], body=f"c{i}.{j}")
    return made


def _fields(obj) -> dict:
    return {f.attname: obj.__dict__.get(f.attname, "<deferred>") for f in obj._meta.concrete_fields}


def _same(fast, slow):
    assert [type(o) for o in fast] == [type(o) for o in slow]
    for a, b in zip(fast, slow):
        assert _fields(a) == _fields(b)
        assert a._state.adding is False and a._state.db == b._state.db
        assert a.get_deferred_fields() == b.get_deferred_fields()


def test_a_compiled_page_has_the_rows_and_instances_the_orm_has(posts):
    queryset = Post.objects.select_related("author")
    for page in ({"first": 5}, {"first": 100}, {"last": 3}, {"first": 0}):
        slow = paginate(queryset, NEWEST_FIRST, **page)
        fast = paginate(queryset, NEWEST_FIRST, **page, shape="test-posts")
        _same(fast.rows, slow.rows)
        assert (fast.has_next_page, fast.has_previous_page) == (slow.has_next_page, slow.has_previous_page)
        for a, b in zip(fast.rows, slow.rows):
            assert type(a).author.is_cached(a)
            _same([a.author], [b.author])
            assert a.author.email == b.author.email  # deferred on a join: still loads when read


def test_cursors_page_through_a_compiled_shape_as_through_the_orm(posts):
    queryset = Post.objects.select_related("author")
    seen_fast, seen_slow, cursor_fast, cursor_slow = [], [], None, None
    while True:
        fast = paginate(queryset, NEWEST_FIRST, first=5, after=cursor_fast, shape="test-posts")
        slow = paginate(queryset, NEWEST_FIRST, first=5, after=cursor_slow)
        _same(fast.rows, slow.rows)
        seen_fast += [p.pk for p in fast.rows]
        seen_slow += [p.pk for p in slow.rows]
        if not fast.has_next_page:
            break
        cursor_fast, cursor_slow = fast.edges[-1].cursor, slow.edges[-1].cursor
    assert seen_fast == seen_slow == [p.pk for p in sorted(posts, key=lambda p: (p.created_at, p.pk), reverse=True)]
    middle = paginate(queryset, NEWEST_FIRST, first=6).edges
    window = paginate(queryset, NEWEST_FIRST, after=middle[0].cursor, before=middle[5].cursor, shape="test-posts")
    assert [p.pk for p in window.rows] == [e.node.pk for e in middle[1:5]]
    backward = paginate(queryset, NEWEST_FIRST, last=2, before=middle[5].cursor, shape="test-posts")
    assert [p.pk for p in backward.rows] == [e.node.pk for e in middle[3:5]]


def test_a_shape_is_compiled_once_and_its_parameters_bound_per_call(posts):
    calls = []

    def build(ids, count):
        calls.append((ids, count))
        return Comment.objects.select_related("author").filter(
            prepared.condition("interactions_comment.post_id = ANY(%s) AND %s >= 0", [ids, count])).order_by("id")[:50]

    ids = [p.pk for p in posts[:4]]
    for subset in (ids, ids[:2], ids[3:]):
        with CaptureQueriesContext(connection) as ctx:
            rows = prepared.fetch("test-comments", build, subset, 0)
        assert len(ctx.captured_queries) == 1
        assert sorted({c.post_id for c in rows}) == sorted(subset)
        assert all(type(c).author.is_cached(c) and c.author.pk == c.author_id for c in rows)
    assert len(calls) == 1 and all(type(v) is prepared.Param for v in calls[0])


def test_nested_first_rows_through_a_shape_match_the_orm(posts):
    ids = [p.pk for p in posts]
    for limit in (1, 2, 4):
        for reverse in (False, True):
            fast = first_comments(ids, limit, reverse=reverse)
            slow = first_per_parent(lambda: Comment.objects.select_related("author"), "post", ids, ("created_at", "id"),
                                    limit, where="x.parent_id IS NULL", reverse=reverse)
            assert fast.keys() == slow.keys()
            for key in ids:
                _same(fast[key], slow[key])
                assert [c.author.username for c in fast[key]] == [c.author.username for c in slow[key]]
    assert [len(first_comments(ids, 10)[p.pk]) for p in posts[:5]] == [1, 2, 3, 4, 0]


def test_what_the_fast_path_does_not_cover_runs_through_the_orm(posts):
    annotated = prepared.fetch("test-annotated", lambda: Post.objects.annotate(n=Count("comments")).order_by("id"))
    assert [p.n for p in annotated][:5] == [1, 2, 3, 4, 0]
    assert prepared._shapes["test-annotated"] is prepared._FALLBACK
    values = prepared.fetch("test-values", lambda: Post.objects.values("id").order_by("id")[:2])
    assert values == [{"id": posts[0].pk}, {"id": posts[1].pk}]
    empty = prepared.fetch("test-empty", lambda ids: Post.objects.filter(pk__in=[]), [1])
    assert empty == []


def test_timestamps_load_with_psycopgs_c_loader_as_utc_datetimes(posts):
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from psycopg.pq import Format

    with connection.cursor() as cursor:
        cursor.execute("SELECT created_at, now(), NULL::timestamptz FROM feed_post ORDER BY id LIMIT 1")
        created, now, missing = cursor.fetchone()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert loader.__module__.startswith("psycopg_binary"), loader  # not Django's Python loader
    assert created.tzinfo is datetime.timezone.utc and now.tzinfo is datetime.timezone.utc and missing is None
    assert Post.objects.order_by("id").first().created_at == created
    # A server-side cursor (QuerySet.iterator) reads them the same way.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the connection is open
    from django.db import transaction
    with transaction.atomic():
        streamed = [p.created_at for p in Post.objects.order_by("id").iterator(chunk_size=5)]
    assert streamed[0] == created and all(value.tzinfo is datetime.timezone.utc for value in streamed)


def test_a_compiled_posts_page_builds_no_query_set(gql, posts, monkeypatch):
    from feed import selectors as feed_selectors

    built = []
    original = feed_selectors._posts
    monkeypatch.setattr(feed_selectors, "_posts", lambda *a, **k: built.append(k) or original(*a, **k))
    query = "{ posts(first: 5) { edges { node { id author { username } } } } }"
    first = gql(query)
    assert len(built) == 1  # the shape is compiled from it
    again = gql(query)
    assert len(built) == 1 and again.data == first.data and len(first.data["posts"]["edges"]) == 5
    gql('{ posts(first: 5, filter: {search: "post"}) { edges { node { id } } } }')
    assert len(built) == 2  # a filtered list is no compiled shape: built every time


def test_a_statement_runs_again_on_the_psycopg_cursor_kept_for_it(posts):
    sql = "SELECT count(*) FROM feed_post WHERE id >= %s"
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.rows_of(sql, [0], connection) == [(12,)]
        kept = connection._statement_cursors[sql]
        assert prepared.rows_of(sql, [posts[5].pk], connection) == [(7,)]
    assert connection._statement_cursors[sql] is kept and not kept.closed
    assert len(ctx.captured_queries) == 2  # Django's execute wrappers see each run (SQL counts, deadlines)
    other = "SELECT %s::int + 1"
    assert prepared.rows_of(other, [1], connection) == [(2,)]
    assert connection._statement_cursors[other] is not kept


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_new_statement_cursors():
    sql = "SELECT %s::int * 2"
    assert prepared.rows_of(sql, [21], connection) == [(42,)]
    kept = connection._statement_cursors[sql]
    connection.close()
    assert prepared.rows_of(sql, [2], connection) == [(4,)]
    assert connection._statement_cursors[sql] is not kept
