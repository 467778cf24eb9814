"""The standard pages cost an exact number of SQL queries — the numbers README and docs/feed.md state —
and the same for 5, 20 and 100 posts."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.db.models import Count, Q
from graphql_relay import to_global_id
from django.utils import timezone

from feed.models import Post
from interactions.models import Bookmark, Comment, Like, Share
from users.models import Follow

from tests.conftest import make_user
from tests.support.queries import assert_database_query_count

BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench"
FEED_PAGE = (BENCH / "feed_page.graphql").read_text()
NEWEST_POSTS = (BENCH / "newest_posts.graphql").read_text()
# docs/feed.md "No N+1": token's user, feed entries (+ posts, authors, shares, sharers), first 3 comments
# of every post with authors, viewer flags.
FEED_PAGE_QUERIES = 4
# posts with authors, first 3 comments with authors (+ the token's user when logged in).
NEWEST_POSTS_ANONYMOUS_QUERIES = 2
NEWEST_POSTS_LOGGED_IN_QUERIES = 3
SIZES = (5, 20, 100)


@pytest.fixture
def feed_viewer(db):
    """A viewer following 4 authors with 130 posts, shares, comments with replies, likes, bookmarks."""
    viewer = make_user("viewer")
    authors = [make_user(f"author{i}") for i in range(4)]
    outsider = make_user("outsider")
    for author in authors:
        Follow.objects.create(follower=viewer, followee=author)
    now = timezone.now()
    posts = Post.objects.bulk_create(
        Post(author=authors[i % 4] if i % 10 else viewer, body=f"post {i} #tag{i % 3}",
             hashtags=[f"tag{i % 3}"], created_at=now - datetime.timedelta(minutes=i))
        for i in range(130)
    )
    outsider_posts = Post.objects.bulk_create(
        Post(author=outsider, body=f"outsider {i}", created_at=now - datetime.timedelta(minutes=i, seconds=30))
        for i in range(20)
    )
    for i, post in enumerate(posts + outsider_posts):
        for j in range(i % 5):
            top = Comment.objects.create(post=post, author=authors[j % 4], body=f"c{j}",
                                         created_at=now - datetime.timedelta(seconds=j))
            Comment.objects.create(post=post, author=outsider, body="reply", parent=top)
        if i % 2:
            Like.objects.create(post=post, user=viewer)
        if i % 3:
            Bookmark.objects.create(post=post, user=viewer)
    # Followed authors share outsiders' posts (and one of the viewer's own).
    for i, post in enumerate(outsider_posts[:10] + [posts[0]]):
        Share.objects.create(post=post, user=authors[i % 4], comment=f"look {i}")
    Share.objects.create(post=posts[5], user=viewer)
    return viewer


def run_counted(gql, query, variables, expected, user=None):
    """Run `query` and assert it costs exactly `expected` SQL queries; returns (count, response)."""
    with assert_database_query_count(expected) as ctx:
        r = gql(query, variables, user=user)
    assert r.status == 200 and not r.errors, r.body
    return len(ctx.captured_queries), r


def test_feed_page_costs_4_queries_for_5_20_and_100_posts(gql, feed_viewer):
    counts = {}
    for first in SIZES:
        counts[first], r = run_counted(gql, FEED_PAGE, {"first": first}, FEED_PAGE_QUERIES, user=feed_viewer)
        edges = r.data["feed"]["edges"]
        assert len(edges) == first
        assert any(edge["share"] for edge in edges)
        assert any(edge["node"]["comments"]["edges"] for edge in edges)
        assert any(edge["node"]["viewerHasLiked"] for edge in edges)
        assert any(edge["node"]["viewerHasBookmarked"] for edge in edges)
        for edge in edges:
            author = edge["node"]["author"]
            assert author["viewerIsFollowing"] == author["username"].startswith("author"), edge
    assert counts[5] == counts[20] == counts[100] == FEED_PAGE_QUERIES, counts


def test_newest_posts_costs_2_queries_anonymous_for_5_20_and_100_posts(gql, feed_viewer):
    counts = {}
    for first in SIZES:
        counts[first], r = run_counted(gql, NEWEST_POSTS, {"first": first}, NEWEST_POSTS_ANONYMOUS_QUERIES)
        edges = r.data["posts"]["edges"]
        assert len(edges) == first
        top_level = {to_global_id("Post", pk): n for pk, n in Post.objects.annotate(
            n=Count("comments", filter=Q(comments__parent__isnull=True))).values_list("pk", "n")}
        for edge in edges:
            assert len(edge["node"]["comments"]["edges"]) == min(3, top_level[edge["node"]["id"]])
    assert counts[5] == counts[20] == counts[100] == NEWEST_POSTS_ANONYMOUS_QUERIES, counts


def test_newest_posts_costs_3_queries_logged_in_for_5_20_and_100_posts(gql, feed_viewer):
    counts = {first: run_counted(gql, NEWEST_POSTS, {"first": first}, NEWEST_POSTS_LOGGED_IN_QUERIES,
                                 user=feed_viewer)[0] for first in SIZES}
    assert counts[5] == counts[20] == counts[100] == NEWEST_POSTS_LOGGED_IN_QUERIES, counts


def test_nested_lists_cost_one_query_per_level(gql, feed_viewer):
    """Users with their posts, each with likes, shares, comments and replies linking back to their
    parents: one query per list level whatever the number of users and posts."""
    query = """query($n: Int!) { users(first: $n) { edges { node { username posts(first: 3) { edges { node {
      author { username } likes(first: 2) { edges { node { user { username } post { id } } } }
      shares(first: 2) { edges { node { user { username } post { id } } } }
      comments(first: 2) { edges { node { post { id } author { username }
        replies(first: 2) { edges { node { parent { id } author { username } } } } } } } } } } } } } }"""
    # auth, users, posts, likes, shares, comments, replies (authors and parents come with them)
    counts = {n: run_counted(gql, query, {"n": n}, 7, user=feed_viewer)[0] for n in (2, 6)}
    assert counts[2] == counts[6] == 7, counts


def test_nested_lists_read_backward_cost_one_query_per_level(gql, feed_viewer):
    """The same, every list read from its end (`last`): the LATERAL loaders read each parent's last rows."""
    query = """query($n: Int!) { users(last: $n) { edges { node { username posts(last: 3) { edges { node {
      author { username } likes(last: 2) { edges { node { user { username } post { id } } } }
      shares(last: 2) { edges { node { user { username } post { id } } } }
      comments(last: 2) { edges { node { post { id } author { username }
        replies(last: 2) { edges { node { parent { id } author { username } } } } } } } } } } } } } }"""
    counts = {n: run_counted(gql, query, {"n": n}, 7, user=feed_viewer)[0] for n in (2, 6)}
    assert counts[2] == counts[6] == 7, counts


def test_feed_page_read_backward_costs_4_queries_for_5_20_and_100_posts(gql, feed_viewer):
    query = FEED_PAGE.replace("(first: ", "(last: ").replace("$first", "$last")
    assert "first" not in query, query
    for last in SIZES:
        count, r = run_counted(gql, query, {"last": last}, FEED_PAGE_QUERIES, user=feed_viewer)
        assert len(r.data["feed"]["edges"]) == last


def test_a_write_reads_its_post_once_and_only_when_the_payload_needs_it(gql, db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    author, fan = make_user("payload_author"), make_user("payload_fan")
    post_id = to_global_id("Post", Post.objects.create(author=author, body="hello").pk)

    def post_reads(mutation, selection):
        with CaptureQueriesContext(connection) as ctx:
            r = gql(f"mutation($id: ID!) {{ {mutation}(input: {{postId: $id}}) {{ {selection} errors {{ code }} }} }}",
                    {"id": post_id}, user=fan)
        assert r.status == 200 and not r.errors and not r.data[mutation]["errors"], r.body
        return sum('FROM "feed_post" INNER JOIN "users_user"' in q["sql"] for q in ctx.captured_queries), r.data

    assert post_reads("likePost", "like { id }")[0] == 0
    assert post_reads("unlikePost", "post { id }")[0] == 1
    reads, data = post_reads("likePost", "like { post { likeCount } } post { likeCount }")
    assert reads == 1 and data["likePost"]["like"]["post"] == data["likePost"]["post"] == {"likeCount": 1}
    assert post_reads("sharePost", "share { id }")[0] == 0
    assert post_reads("unsharePost", "post { shareCount }")[0] == 1
    assert post_reads("sharePost", "share { post { shareCount } }")[0] == 1
