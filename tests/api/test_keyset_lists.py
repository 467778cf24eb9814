"""Keyset pagination of every list: paged to the end with ties in the sort key, no gaps or repeats,
hasNextPage false on the last page, `first: 0`, and a cursor of another list or ordering refused
with BAD_USER_INPUT (never a 500)."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from feed.models import Post, PostHashtag
from interactions.models import Bookmark, Comment, Like, Share
from notifications.models import Notification
from users.models import Follow, User

from tests.conftest import make_user

N = 23


@pytest.fixture
def lists_with_ties(db):
    """Everything in groups of three with the same created_at (and like counts in groups too)."""
    viewer = make_user("viewer")
    now = timezone.now()
    at = lambda i: now - datetime.timedelta(minutes=i // 3)  # noqa: E731
    users = User.objects.bulk_create(
        User(username=f"user{i}", email=f"user{i}@example.com", date_joined=at(i)) for i in range(N)
    )
    Follow.objects.bulk_create(Follow(follower=viewer, followee=u, created_at=at(i)) for i, u in enumerate(users))
    Follow.objects.bulk_create(Follow(follower=u, followee=viewer, created_at=at(i)) for i, u in enumerate(users))
    posts = Post.objects.bulk_create(
        Post(author=users[0] if i % 2 else viewer, body=f"post {i} #tag", hashtags=["tag"], created_at=at(i),
             like_count=i % 4, comment_count=i % 3, share_count=i % 2)
        for i in range(N)
    )
    PostHashtag.objects.bulk_create(PostHashtag(post=p, tag="tag", created_at=p.created_at) for p in posts)
    hot = posts[0]
    Like.objects.bulk_create(Like(user=u, post=hot, created_at=at(i)) for i, u in enumerate(users))
    Share.objects.bulk_create(Share(user=u, post=posts[-1 - i], created_at=now + datetime.timedelta(minutes=i // 3))
                              for i, u in enumerate(users[:-1]))
    Share.objects.bulk_create(Share(user=u, post=hot, created_at=at(i)) for i, u in enumerate(users[1:], 1))
    Bookmark.objects.bulk_create(Bookmark(user=viewer, post=p, created_at=at(i)) for i, p in enumerate(posts))
    top = Comment.objects.bulk_create(Comment(post=hot, author=u, body="c", created_at=at(-i))
                                      for i, u in enumerate(users))
    Comment.objects.bulk_create(Comment(post=hot, author=u, body="r", parent=top[0], created_at=at(-i))
                                for i, u in enumerate(users))
    Notification.objects.bulk_create(
        Notification(recipient=viewer, actor=u, kind="FOLLOW", created_at=at(i)) for i, u in enumerate(users)
    )
    return {"viewer": viewer, "hot": hot, "top": top[0], "users": users}


def _conn(field: str, inner: str = "node { id }") -> str:
    return f"edges {{ cursor {inner} }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}"


HOT = "$id: ID!, "
LISTS = {
    # name: (query with $first/$after/$last/$before, path to the connection, expected count)
    "users": ("query(%(vars)s) { users(%(args)s) { %(conn)s } }", ["users"], N + 1),
    "followers": ("query(%(vars)s) { viewer { followers(%(args)s) { %(conn)s } } }",
                  ["viewer", "followers"], N),
    "following": ("query(%(vars)s) { viewer { following(%(args)s) { %(conn)s } } }",
                  ["viewer", "following"], N),
    "user_posts": ("query(%(vars)s) { viewer { posts(%(args)s) { %(conn)s } } }",
                   ["viewer", "posts"], (N + 1) // 2),
    "feed": ("query(%(vars)s) { feed(%(args)s) { %(conn)s } }", ["feed"], N),
    "comments": ("query(%(vars)s, $id: ID!) { post(id: $id) { "
                 "comments(%(args)s) { %(conn)s } } }", ["post", "comments"], N),
    "likes": ("query(%(vars)s, $id: ID!) { post(id: $id) { likes(%(args)s) "
              "{ %(conn)s } } }", ["post", "likes"], N),
    "shares": ("query(%(vars)s, $id: ID!) { post(id: $id) { shares(%(args)s) "
               "{ %(conn)s } } }", ["post", "shares"], N - 1),
    "replies": ("query(%(vars)s, $c: ID!) { node(id: $c) { ... on Comment { "
                "replies(%(args)s) { %(conn)s } } } }", ["node", "replies"], N),
    "bookmarks": ("query(%(vars)s) { bookmarks(%(args)s) { %(conn)s } }",
                  ["bookmarks"], N),
    "notifications": ("query(%(vars)s) { notifications(%(args)s) { %(conn)s } }",
                      ["notifications"], N),
}
for _order in ("CREATED_AT", "LIKE_COUNT", "COMMENT_COUNT", "SHARE_COUNT"):
    for _direction in ("ASC", "DESC"):
        for _filter in ("", ', filter: {hashtag: "tag"}'):
            LISTS[f"posts_{_order}_{_direction}{'_tag' if _filter else ''}"] = (
                "query(%(vars)s) { posts(%(args)s, "
                f"orderBy: {{field: {_order}, direction: {_direction}}}{_filter}) {{ %(conn)s }} }}", ["posts"], N)


PAGE_VARS = "$first: Int, $after: String, $last: Int, $before: String"
PAGE_ARGS = "first: $first, after: $after, last: $last, before: $before"


def _run(gql, lists_with_ties, name, first, after, *, last=None, before=None, conn=None):
    query, path, _ = LISTS[name]
    variables = {"first": first, "after": after, "last": last, "before": before,
                 "id": to_global_id("Post", lists_with_ties["hot"].pk),
                 "c": to_global_id("Comment", lists_with_ties["top"].pk)}
    query = query % {"vars": PAGE_VARS, "args": PAGE_ARGS, "conn": conn or _conn(name)}
    declared = query.split(")", 1)[0]
    variables = {k: v for k, v in variables.items() if f"${k}" in declared}
    r = gql(query, variables, user=lists_with_ties["viewer"])
    data = r.data
    for key in path:
        data = data[key] if data is not None else None
    return r, data


@pytest.mark.parametrize("name", sorted(LISTS))
def test_paging_to_the_end_with_ties(gql, lists_with_ties, name):
    expected = LISTS[name][2]
    seen, after, pages = [], None, 0
    while True:
        r, page = _run(gql, lists_with_ties, name, 4, after)
        assert r.status == 200 and not r.errors, r.body
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert len(page["edges"]) == 4
        after = page["pageInfo"]["endCursor"]
        assert pages < 20
    assert len(seen) == len(set(seen)) == expected, (len(seen), len(set(seen)), expected)
    # The whole list in one page is the same list, in the same order.
    r, whole = _run(gql, lists_with_ties, name, 100, None)
    assert [edge["node"]["id"] for edge in whole["edges"]] == seen
    assert whole["pageInfo"]["hasNextPage"] is False
    # first: 0 is an empty page whose hasNextPage says whether there are items (Relay's rule, the same
    # for top-level and nested lists); after the last item, an empty last page.
    r, empty = _run(gql, lists_with_ties, name, 0, None)
    assert not r.errors and empty["edges"] == [] and empty["pageInfo"]["hasNextPage"] is True, r.body
    r, past = _run(gql, lists_with_ties, name, 4, whole["edges"][-1]["cursor"])
    assert not r.errors and past["edges"] == [] and past["pageInfo"]["hasNextPage"] is False


def _cursors(gql, lists_with_ties) -> dict[str, str]:
    """A real second-page cursor of every list."""
    found = {}
    for name in LISTS:
        r, page = _run(gql, lists_with_ties, name, 4, None)
        found[name] = page["edges"][-1]["cursor"]
    return found


def test_a_cursor_of_another_list_or_ordering_is_bad_user_input_or_a_page(gql, lists_with_ties):
    cursors = _cursors(gql, lists_with_ties)
    cursors["garbage"] = "not-a-cursor"
    cursors["number"] = "WzEsMl0"  # [1,2]
    cursors["string"] = "WyJ4IiwxXQ"  # ["x",1]
    cursors["float"] = "WzEuNSwxXQ"  # [1.5,1]
    cursors["huge"] = "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5LDFd"  # [99999999999999999999,1]
    for name in LISTS:
        for source, cursor in cursors.items():
            r, page = _run(gql, lists_with_ties, name, 4, cursor)
            assert r.status == 200, (name, source, r.body)
            if r.errors:
                assert r.error_codes() == ["BAD_USER_INPUT"], (name, source, r.body)


@pytest.mark.parametrize("order", ["LIKE_COUNT", "COMMENT_COUNT", "SHARE_COUNT"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_a_rare_tag_sorted_by_id_list_pages_like_a_common_tag_walked(gql, lists_with_ties, monkeypatch, order, direction):
    """A tag on at most RARE_TAG_POSTS posts is read by its post ids and sorted; a commoner tag walks the
    counter's index. Both page the same posts in the same order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feed import selectors

    def pages():
        seen, after, sql = [], None, []
        while True:
            with CaptureQueriesContext(connection) as ctx:
                r = gql("query($after: String) { posts(first: 5, after: $after, filter: {hashtag: \"tag\"}, "
                        f"orderBy: {{field: {order}, direction: {direction}}}) "
                        "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }", {"after": after})
            assert not r.errors, r.errors
            sql += [q["sql"] for q in ctx.captured_queries if '"feed_post"."like_count"' in q["sql"]]
            seen += [e["node"]["id"] for e in r.data["posts"]["edges"]]
            if not r.data["posts"]["pageInfo"]["hasNextPage"]:
                return seen, sql
            after = r.data["posts"]["pageInfo"]["endCursor"]

    monkeypatch.setattr(selectors, "RARE_TAG_POSTS", N)
    rare, rare_sql = pages()
    monkeypatch.setattr(selectors, "RARE_TAG_POSTS", N - 1)
    common, common_sql = pages()
    assert rare == common and len(rare) == N
    assert all("feed_posthashtag" not in sql for sql in rare_sql), rare_sql[0]
    assert all("feed_posthashtag" in sql for sql in common_sql), common_sql[0]


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# --- cursors of another ordering or connection --------------------------------------------------
def test_cursors_from_elsewhere_are_bad_user_input(gql, alices_post, alice):
    r = gql("""{ feed(first: 1) { edges { cursor } }
                 created: posts(first: 1) { edges { cursor } }
                 liked: posts(first: 1, orderBy: {field: LIKE_COUNT, direction: DESC}) { edges { cursor } } }""",
            user=alice)
    created, liked = (r.data[k]["edges"][0]["cursor"] for k in ("created", "liked"))
    feed = r.data["feed"]["edges"][0]["cursor"]
    now = {"t": "2026-01-01T00:00:00+00:00"}
    cases = [
        ('{ posts(after: "%s") { edges { node { id } } } }', liked),
        ('{ posts(after: "%s") { edges { node { id } } } }', feed),
        ('{ posts(after: "%s", orderBy: {field: LIKE_COUNT, direction: ASC}) { edges { node { id } } } }', created),
        ('{ feed(after: "%s") { edges { node { id } } } }', created),
        ('{ notifications(after: "%s") { edges { node { id } } } }', liked),
        ('{ bookmarks(after: "%s") { edges { node { id } } } }', liked),
        ('{ users(after: "%s") { edges { node { id } } } }', liked),
        ('{ posts(after: "%s") { edges { node { id } } } }', _cursor([now, 10**30])),
        ('{ posts(after: "%s") { edges { node { id } } } }', _cursor([now, True])),
        ('{ posts(after: "%s") { edges { node { id } } } }', _cursor([{"t": "2026-01-01T00:00:00"}, 1])),
        ('{ posts(after: "%s") { edges { node { id } } } }', _cursor(["2026-01-01", 1])),
        ('{ posts { edges { node { comments(after: "%s") { edges { node { id } } } } } } }', liked),
        ('{ posts { edges { node { likes(after: "%s") { edges { node { id } } } } } } }', liked),
    ]
    for query, cursor in cases:
        r = gql(query % cursor, user=alice)
        assert r.error_codes() == ["BAD_USER_INPUT"], (query, r.body)
        assert r.errors[0]["extensions"]["argument"] == "after"


# --- backward: last/before ---------------------------------------------------------------------
def _whole(gql, lists_with_ties, name) -> tuple[list[str], list[str]]:
    """The ids and cursors of the whole list, in its order (one page of 100, paged forward)."""
    r, whole = _run(gql, lists_with_ties, name, 100, None)
    assert not r.errors and whole["pageInfo"]["hasNextPage"] is False, r.body
    return [e["node"]["id"] for e in whole["edges"]], [e["cursor"] for e in whole["edges"]]


@pytest.mark.parametrize("name", sorted(LISTS))
def test_paging_backward_to_the_start_with_ties(gql, lists_with_ties, name):
    """`last`/`before` from the end to the start: every item once, each page in the list's order,
    hasPreviousPage exact, hasNextPage true once `before` is given; the same cursors as forward."""
    ids, cursors = _whole(gql, lists_with_ties, name)
    assert len(ids) == LISTS[name][2]
    pages, before = [], None
    while True:
        r, page = _run(gql, lists_with_ties, name, None, None, last=4, before=before)
        assert r.status == 200 and not r.errors, r.body
        pages.append(page)
        assert page["pageInfo"]["hasNextPage"] == (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        assert len(page["edges"]) == 4
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        before = page["pageInfo"]["startCursor"]
        assert len(pages) < 20
    walked = [e["node"]["id"] for page in reversed(pages) for e in page["edges"]]
    assert walked == ids, "no gaps, no repeats, in the list's order"
    assert [e["cursor"] for page in reversed(pages) for e in page["edges"]] == cursors, "one cursor per item"
    # The last page read backward is the end of the list, read forward.
    r, tail = _run(gql, lists_with_ties, name, None, None, last=100)
    assert [e["node"]["id"] for e in tail["edges"]] == ids and tail["pageInfo"]["hasPreviousPage"] is False
    assert tail["pageInfo"]["hasNextPage"] is False
    # last: 0 says whether there are items before; before the first item there are none.
    r, empty = _run(gql, lists_with_ties, name, None, None, last=0)
    assert not r.errors and empty["edges"] == [] and empty["pageInfo"]["hasPreviousPage"] is True, r.body
    r, past = _run(gql, lists_with_ties, name, None, None, last=4, before=cursors[0])
    assert not r.errors and past["edges"] == [] and past["pageInfo"]["hasPreviousPage"] is False
    assert past["pageInfo"]["hasNextPage"] is True
    # `before` alone is the 20 items just before it.
    r, alone = _run(gql, lists_with_ties, name, None, None, before=cursors[-1])
    assert [e["node"]["id"] for e in alone["edges"]] == ids[-21:-1]


@pytest.mark.parametrize("name", sorted(LISTS))
def test_both_directions_mixed(gql, lists_with_ties, name):
    """A random walk: forward from the page's endCursor, backward from its startCursor, or a window
    between two cursors from either end; every page is exactly its slice of the whole list, with the
    same cursors, and pageInfo as documented (exact on the side paged, "a cursor was given" on the other)."""
    import random

    ids, cursors = _whole(gql, lists_with_ties, name)
    n = len(ids)
    rng = random.Random(name)
    start = stop = 0  # the current page is ids[start:stop]
    for _ in range(20):
        size = rng.randint(1, 6)
        move = rng.choice(["forward", "backward", "window"])
        if move == "forward":
            after = cursors[stop - 1] if stop > 0 else None
            r, page = _run(gql, lists_with_ties, name, size, after)
            want = (stop, min(n, stop + size))
            flags = {"hasNextPage": stop + size < n, "hasPreviousPage": after is not None}
        elif move == "backward":
            before = cursors[start] if start < n else None
            end = start if before else n
            r, page = _run(gql, lists_with_ties, name, None, None, last=size, before=before)
            want = (max(0, end - size), end)
            flags = {"hasPreviousPage": end - size > 0, "hasNextPage": before is not None}
        else:
            lo, hi = sorted(rng.sample(range(n), 2))
            if rng.random() < 0.5:
                r, page = _run(gql, lists_with_ties, name, size, cursors[lo], before=cursors[hi])
                want = (lo + 1, min(hi, lo + 1 + size))
                flags = {"hasNextPage": lo + 1 + size < hi, "hasPreviousPage": True}
            else:
                r, page = _run(gql, lists_with_ties, name, None, cursors[lo], last=size, before=cursors[hi])
                want = (max(lo + 1, hi - size), hi)
                flags = {"hasPreviousPage": hi - size > lo + 1, "hasNextPage": True}
        assert not r.errors, r.body
        assert [e["node"]["id"] for e in page["edges"]] == ids[want[0]:want[1]], (move, size, want)
        assert [e["cursor"] for e in page["edges"]] == cursors[want[0]:want[1]]
        assert {k: page["pageInfo"][k] for k in flags} == flags, (move, size, want)
        start, stop = want


def test_first_and_last_together_and_bad_last_are_bad_user_input(gql, lists_with_ties):
    for name in ("users", "feed", "comments", "user_posts", "posts_LIKE_COUNT_ASC_tag"):
        ids, cursors = _whole(gql, lists_with_ties, name)
        for first, last, before, argument in ((2, 2, None, "last"), (None, -1, None, "last"), (None, 101, None, "last"),
                                              (None, 3, "not-a-cursor", "before"), (None, 3, "W10", "before")):
            r, _ = _run(gql, lists_with_ties, name, first, None, last=last, before=before)
            assert r.error_codes() == ["BAD_USER_INPUT"], (name, first, last, before, r.body)
            assert r.errors[0]["extensions"]["argument"] == argument
        # An empty cursor is no cursor.
        r, page = _run(gql, lists_with_ties, name, None, "", last=2, before="")
        assert [e["node"]["id"] for e in page["edges"]] == ids[-2:]


def test_a_cursor_of_another_list_as_before_is_bad_user_input_or_a_page(gql, lists_with_ties):
    cursors = _cursors(gql, lists_with_ties)
    cursors["huge"] = "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5LDFd"  # [99999999999999999999,1]
    for name in LISTS:
        for source, cursor in cursors.items():
            r, page = _run(gql, lists_with_ties, name, None, None, last=4, before=cursor)
            assert r.status == 200, (name, source, r.body)
            if r.errors:
                assert r.error_codes() == ["BAD_USER_INPUT"], (name, source, r.body)
                assert r.errors[0]["extensions"]["argument"] == "before"


# --- totalCount: stored counters only ----------------------------------------------------------
COUNTED = {
    # list: totalCount, from the counter its parent stores (null: no counter is kept)
    "followers": True, "following": True, "user_posts": True, "likes": True, "shares": True, "replies": True,
    "comments": False, "users": False, "bookmarks": False, "posts_CREATED_AT_DESC": False,
}


@pytest.mark.parametrize("name", sorted(COUNTED))
def test_total_count_is_the_stored_counter(gql, lists_with_ties, name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feed.models import Post
    from users.models import User

    viewer, hot, top = lists_with_ties["viewer"], lists_with_ties["hot"], lists_with_ties["top"]
    # The fixture bulk-creates rows: set the counters the services would have kept.
    User.objects.filter(pk=viewer.pk).update(
        follower_count=Follow.objects.filter(followee=viewer).count(),
        following_count=Follow.objects.filter(follower=viewer).count(),
        post_count=Post.objects.filter(author=viewer).count())
    Post.objects.filter(pk=hot.pk).update(like_count=Like.objects.filter(post=hot).count(),
                                          share_count=Share.objects.filter(post=hot).count())
    Comment.objects.filter(pk=top.pk).update(reply_count=Comment.objects.filter(parent=top).count())
    ids, _ = _whole(gql, lists_with_ties, name)
    conn = "totalCount edges { node { id } }"
    for last in (None, 2):
        with CaptureQueriesContext(connection) as ctx:
            r, page = _run(gql, lists_with_ties, name, None if last else 2, None, last=last, conn=conn)
        assert not r.errors, r.body
        assert page["totalCount"] == (len(ids) if COUNTED[name] else None)
        assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries), "never a COUNT"
