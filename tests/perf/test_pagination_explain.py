"""Keyset pagination: every ordering of Query.posts is a seek on a matching index (EXPLAIN on a table
of 50,000+ posts shows an index scan and no Sort), and paging is stable while posts arrive."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from feed import selectors
from feed.models import Post
from schema.core.connection import Keyset, paginate
from users.models import User

from tests.support.queries import assert_database_query_count

ORDERINGS = ["CREATED_AT", "LIKE_COUNT", "COMMENT_COUNT", "SHARE_COUNT"]
ROWS = 60_000


@pytest.fixture
def many_posts(db):
    """60,000 posts from 200 authors over a year, counters spread out, hashtags on a fifth; ANALYZEd."""
    authors = User.objects.bulk_create(
        User(username=f"writer{i}", email=f"writer{i}@example.com", password="!") for i in range(200)
    )
    first_id = min(author.pk for author in authors)
    assert max(author.pk for author in authors) == first_id + 199
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO feed_post (author_id, body, created_at, updated_at, hashtags,
                                   like_count, comment_count, share_count, view_count)
            SELECT %s + (g %% 200), 'post number ' || g || CASE WHEN g %% 5 = 0 THEN ' #tagged' ELSE '' END,
                   now() - (g || ' minutes')::interval, now(),
                   CASE WHEN g %% 5 = 0 THEN ARRAY['tagged']::varchar[] ELSE '{}' END,
                   (random() * 500)::int, (random() * 80)::int, (random() * 20)::int, 0
            FROM generate_series(1, %s) g
            """,
            [first_id, ROWS],
        )
        cursor.execute(
            "INSERT INTO feed_posthashtag (post_id, tag, created_at) "
            "SELECT id, 'tagged', created_at FROM feed_post WHERE hashtags <> '{}'"
        )
        cursor.execute("ANALYZE feed_post")
        cursor.execute("ANALYZE feed_posthashtag")
    return authors


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def plan_of_page(listing, after=None, size=20) -> str:
    """The plan of the one statement the real paginate (schema/core/connection.py) runs for a page."""
    with assert_database_query_count(1) as queries:
        paginate(listing.queryset, Keyset(listing.fields, listing.descending), first=size, after=after,
                 node_of=listing.node_of)
    return explain(queries.captured_queries[0]["sql"])


def assert_index_seek(plan: str, index: str) -> None:
    assert "Sort" not in plan, plan
    assert "Seq Scan" not in plan, plan
    assert f"Index Scan using {index}" in plan or f"Index Scan Backward using {index}" in plan \
        or f"Index Only Scan using {index}" in plan or f"Index Only Scan Backward using {index}" in plan, plan


INDEX_OF = {
    "CREATED_AT": "post_created_idx",
    "LIKE_COUNT": "post_likes_idx",
    "COMMENT_COUNT": "post_comments_idx",
    "SHARE_COUNT": "post_shares_idx",
}


@pytest.mark.slow
def test_every_ordering_seeks_its_index(many_posts):
    for order in ORDERINGS:
        for descending in (True, False):
            check_ordering(order, descending)


def check_ordering(order, descending):
    listing = selectors.post_list(order=order, descending=descending, with_author=True)
    first = paginate(listing.queryset, Keyset(listing.fields, descending), first=20)
    middle = first.edges[-1].cursor
    assert_index_seek(plan_of_page(listing), INDEX_OF[order])
    assert_index_seek(plan_of_page(listing, after=middle), INDEX_OF[order])
    # A page deep in the table costs what the first costs: still a seek, no Sort.
    deep = Post.objects.order_by(*Keyset(listing.fields, descending).order_by())[ROWS // 2]
    deep_cursor = Keyset(listing.fields, descending).cursor_of(deep)
    assert_index_seek(plan_of_page(listing, after=deep_cursor), INDEX_OF[order])


@pytest.mark.slow
def test_author_and_hashtag_filters_seek(many_posts):
    author = many_posts[7]
    listing = selectors.post_list(author_id=author.pk, with_author=True)
    assert_index_seek(plan_of_page(listing), "post_author_created_idx")
    listing = selectors.post_list(hashtag="#Tagged", with_author=True)
    plan = plan_of_page(listing)
    assert_index_seek(plan, "posthashtag_tag_idx")
    page = paginate(listing.queryset, Keyset(listing.fields, True), first=5, node_of=listing.node_of)
    assert [post.hashtags for post in page.nodes] == [["tagged"]] * 5
    after = page.edges[-1].cursor
    assert_index_seek(plan_of_page(listing, after=after), "posthashtag_tag_idx")


@pytest.mark.slow
def test_user_posts_first_page_per_author_is_a_seek(many_posts):
    """User.posts for a whole page of users: one LATERAL seek per author, no Sort of their posts."""
    ids = [author.pk for author in many_posts[:20]]
    with assert_database_query_count(1) as queries:
        found = selectors.first_user_posts(ids, 4)
    plan = explain(queries.captured_queries[0]["sql"])
    assert "post_author_created_idx" in plan and "Sort" not in plan, plan
    assert all(len(posts) == 4 for posts in found.values())
    for posts in found.values():
        assert [(p.created_at, p.id) for p in posts] == sorted(((p.created_at, p.id) for p in posts), reverse=True)


# --- stability under inserts ---------------------------------------------------------------------
QUERY = """query($first: Int, $after: String, $order: PostOrder) {
  posts(first: $first, after: $after, orderBy: $order) {
    edges { cursor node { id body } } pageInfo { hasNextPage endCursor } } }"""


@pytest.mark.parametrize("order", ORDERINGS)
@pytest.mark.parametrize("direction", ["DESC", "ASC"])
def test_paging_has_no_gaps_or_repeats_while_posts_arrive(gql, alice, order, direction):
    now = timezone.now()
    field = {"LIKE_COUNT": "like_count", "COMMENT_COUNT": "comment_count", "SHARE_COUNT": "share_count"}.get(order)
    # Ties on purpose: equal times and equal counters are broken by id.
    original = Post.objects.bulk_create(
        Post(author=alice, body=f"old {i}", created_at=now - datetime.timedelta(seconds=i // 3),
             **({field: i % 4} if field else {}))
        for i in range(40)
    )
    seen, after, pages = [], None, 0
    while True:
        r = gql(QUERY, {"first": 6, "after": after, "order": {"field": order, "direction": direction}})
        assert not r.errors, r.errors
        connection_ = r.data["posts"]
        seen += [edge["node"]["body"] for edge in connection_["edges"]]
        # New posts arrive between pages: newest, oldest, and ties with existing ones.
        Post.objects.bulk_create([
            Post(author=alice, body=f"new {pages} a", created_at=timezone.now(), **({field: 9} if field else {})),
            Post(author=alice, body=f"new {pages} b", created_at=now - datetime.timedelta(seconds=5),
                 **({field: 1} if field else {})),
            Post(author=alice, body=f"new {pages} c", created_at=now - datetime.timedelta(days=1),
                 **({field: 0} if field else {})),
        ])
        pages += 1
        if not connection_["pageInfo"]["hasNextPage"]:
            break
        after = connection_["pageInfo"]["endCursor"]
        assert pages < 40
    old_seen = [body for body in seen if body.startswith("old")]
    assert len(old_seen) == len(set(old_seen)) == len(original), "a page repeated or skipped an old post"
    assert len(seen) == len(set(seen)), "a post was returned twice"


@pytest.mark.slow
def test_the_check_catches_a_sort(many_posts):
    """The assertion above is not vacuous: an ordering without an index shows a Sort."""
    listing = selectors.post_list(order="LIKE_COUNT")
    listing.fields = ("like_count", "created_at", "id")
    plan = plan_of_page(listing)
    assert "Sort" in plan, plan
    with pytest.raises(AssertionError):
        assert_index_seek(plan, INDEX_OF["LIKE_COUNT"])


# --- backward pages (last/before) ----------------------------------------------------------------
def plan_of_backward_page(listing, before=None, after=None, size=20) -> str:
    """The plan of the one statement the real paginate runs for a `last`/`before` page."""
    with assert_database_query_count(1) as queries:
        page = paginate(listing.queryset, Keyset(listing.fields, listing.descending), last=size, before=before,
                        after=after, node_of=listing.node_of)
    keys = [Keyset(listing.fields, listing.descending).values_of(row) for row in page.rows]
    ordered = sorted(keys, reverse=listing.descending)
    assert keys == ordered, "a backward page comes back in the list's order"
    return explain(queries.captured_queries[0]["sql"])


def assert_no_offset(plan_sql: str) -> None:
    assert "OFFSET" not in plan_sql.upper()


@pytest.mark.slow
def test_every_ordering_seeks_its_index_backward(many_posts):
    """A backward page scans the forward page's index the other way: an index scan, no Sort, no OFFSET,
    at the end of the table, in its middle and deep in it, and for a window between two cursors."""
    for order in ORDERINGS:
        for descending in (True, False):
            listing = selectors.post_list(order=order, descending=descending, with_author=True)
            keyset = Keyset(listing.fields, descending)
            # The mirror of the forward test: the start of the last page, deep in the table, and a window.
            near_end = paginate(listing.queryset, keyset, last=20).edges[0].cursor
            near_start = paginate(listing.queryset, keyset, first=20).edges[-1].cursor
            deep = keyset.cursor_of(Post.objects.order_by(*keyset.order_by())[ROWS // 2])
            assert_index_seek(plan_of_backward_page(listing), INDEX_OF[order])
            assert_index_seek(plan_of_backward_page(listing, before=near_end), INDEX_OF[order])
            assert_index_seek(plan_of_backward_page(listing, before=deep), INDEX_OF[order])
            assert_index_seek(plan_of_backward_page(listing, before=deep, after=near_start), INDEX_OF[order])
            with assert_database_query_count(1) as queries:
                paginate(listing.queryset, keyset, last=20, before=deep)
            assert_no_offset(queries.captured_queries[0]["sql"])


@pytest.mark.slow
def test_author_and_hashtag_filters_seek_backward(many_posts):
    author = many_posts[7]
    listing = selectors.post_list(author_id=author.pk, with_author=True)
    assert_index_seek(plan_of_backward_page(listing), "post_author_created_idx")
    listing = selectors.post_list(hashtag="#Tagged", with_author=True)
    assert_index_seek(plan_of_backward_page(listing), "posthashtag_tag_idx")
    page = paginate(listing.queryset, Keyset(listing.fields, True), last=5, node_of=listing.node_of)
    assert [post.hashtags for post in page.nodes] == [["tagged"]] * 5
    assert_index_seek(plan_of_backward_page(listing, before=page.edges[0].cursor), "posthashtag_tag_idx")


@pytest.mark.slow
def test_user_posts_last_page_per_author_is_a_backward_seek(many_posts):
    """User.posts(last:) for a whole page of users: one LATERAL seek per author, the index read backward."""
    ids = [author.pk for author in many_posts[:20]]
    with assert_database_query_count(1) as queries:
        found = selectors.first_user_posts(ids, 4, reverse=True)
    plan = explain(queries.captured_queries[0]["sql"])
    assert "post_author_created_idx" in plan and "Sort" not in plan, plan
    assert "Backward" in plan, plan
    for author_id, posts in found.items():
        assert len(posts) == 4
        oldest = Post.objects.filter(author_id=author_id).order_by("created_at", "id")[:4]
        assert [p.pk for p in posts] == [p.pk for p in oldest], "the last four of the list, last first"


@pytest.mark.parametrize("order", ORDERINGS)
@pytest.mark.parametrize("direction", ["DESC", "ASC"])
def test_paging_backward_has_no_gaps_or_repeats_while_posts_arrive(gql, alice, order, direction):
    """From the end of the list to its start with `last`/`before`, posts arriving between pages."""
    now = timezone.now()
    field = {"LIKE_COUNT": "like_count", "COMMENT_COUNT": "comment_count", "SHARE_COUNT": "share_count"}.get(order)
    original = Post.objects.bulk_create(
        Post(author=alice, body=f"old {i}", created_at=now - datetime.timedelta(seconds=i // 3),
             **({field: i % 4} if field else {}))
        for i in range(40)
    )
    query = QUERY.replace("$first: Int, $after: String", "$last: Int, $before: String") \
        .replace("first: $first, after: $after", "last: $last, before: $before") \
        .replace("pageInfo { hasNextPage endCursor }", "pageInfo { hasPreviousPage startCursor }")
    pages_seen, before, pages = [], None, 0
    while True:
        r = gql(query, {"last": 6, "before": before, "order": {"field": order, "direction": direction}})
        assert not r.errors, r.errors
        connection_ = r.data["posts"]
        pages_seen.append([edge["node"]["body"] for edge in connection_["edges"]])
        Post.objects.bulk_create([
            Post(author=alice, body=f"new {pages} a", created_at=timezone.now(), **({field: 9} if field else {})),
            Post(author=alice, body=f"new {pages} b", created_at=now - datetime.timedelta(seconds=5),
                 **({field: 1} if field else {})),
            Post(author=alice, body=f"new {pages} c", created_at=now - datetime.timedelta(days=1),
                 **({field: 0} if field else {})),
        ])
        pages += 1
        if not connection_["pageInfo"]["hasPreviousPage"]:
            break
        before = connection_["pageInfo"]["startCursor"]
        assert pages < 40
    seen = [body for page in reversed(pages_seen) for body in page]
    old_seen = [body for body in seen if body.startswith("old")]
    assert len(old_seen) == len(set(old_seen)) == len(original), "a page repeated or skipped an old post"
    assert len(seen) == len(set(seen)), "a post was returned twice"
