"""The standard pages cost the same number of SQL queries for 5, 20 and 100 posts (at most 6)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Q
from graphql_relay import to_global_id
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feed.models import Post
from interactions.models import Bookmark, Comment, Like, Share
from users.models import Follow

from tests.conftest import make_user

BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench"
FEED_PAGE = (BENCH / "feed_page.graphql").read_text()
NEWEST_POSTS = (BENCH / "newest_posts.graphql").read_text()
MAX_QUERIES = 6


@pytest.fixture
def world(db):
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


def count_queries(gql, query, variables, user=None):
    with CaptureQueriesContext(connection) as ctx:
        r = gql(query, variables, user=user)
    assert r.status == 200 and not r.errors, r.body
    return len(ctx.captured_queries), r


def test_feed_page_queries_constant(gql, world):
    counts = {}
    for first in (5, 20, 100):
        counts[first], r = count_queries(gql, FEED_PAGE, {"first": first}, user=world)
        edges = r.data["feed"]["edges"]
        assert len(edges) == first
        assert any(edge["share"] for edge in edges)
        assert any(edge["node"]["comments"]["edges"] for edge in edges)
        assert any(edge["node"]["viewerHasLiked"] for edge in edges)
        assert any(edge["node"]["viewerHasBookmarked"] for edge in edges)
        for edge in edges:
            author = edge["node"]["author"]
            assert author["viewerIsFollowing"] == author["username"].startswith("author"), edge
    assert counts[5] == counts[20] == counts[100] <= MAX_QUERIES, counts


def test_newest_posts_queries_constant(gql, world):
    counts = {}
    for first in (5, 20, 100):
        counts[first], r = count_queries(gql, NEWEST_POSTS, {"first": first})
        edges = r.data["posts"]["edges"]
        assert len(edges) == first
        top_level = {to_global_id("Post", pk): n for pk, n in Post.objects.annotate(
            n=Count("comments", filter=Q(comments__parent__isnull=True))).values_list("pk", "n")}
        for edge in edges:
            assert len(edge["node"]["comments"]["edges"]) == min(3, top_level[edge["node"]["id"]])
    assert counts[5] == counts[20] == counts[100] <= MAX_QUERIES, counts


def test_newest_posts_queries_constant_when_logged_in(gql, world):
    counts = {first: count_queries(gql, NEWEST_POSTS, {"first": first}, user=world)[0] for first in (5, 20, 100)}
    assert counts[5] == counts[20] == counts[100] <= MAX_QUERIES, counts


def test_nested_lists_cost_one_query_per_level(gql, world):
    """Users with their posts, each with likes, shares, comments and replies linking back to their
    parents: one query per list level whatever the number of users and posts."""
    query = """query($n: Int!) { users(first: $n) { edges { node { username posts(first: 3) { edges { node {
      author { username } likes(first: 2) { edges { node { user { username } post { id } } } }
      shares(first: 2) { edges { node { user { username } post { id } } } }
      comments(first: 2) { edges { node { post { id } author { username }
        replies(first: 2) { edges { node { parent { id } author { username } } } } } } } } } } } } } }"""
    counts = {n: count_queries(gql, query, {"n": n}, user=world)[0] for n in (2, 6)}
    # auth, users, posts, likes, shares, comments, replies (authors and parents come with them)
    assert counts[2] == counts[6] == 7, counts
