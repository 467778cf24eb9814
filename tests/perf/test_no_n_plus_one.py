"""Every list of the schema, with nested selections, costs the same number of SQL queries for 5, 20
and 100 items (the standard pages and User.posts-in-users are pinned in test_query_counts.py)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from analytics import trends
from analytics.models import PostStatsBucket
from feed.models import Post, PostHashtag
from interactions.models import Bookmark, Comment, Like, Share
from notifications.models import Notification
from users.models import Follow, User

from tests.conftest import make_user
from tests.support.queries import assert_database_query_count

N = 110  # more than the largest page

USER = "id username viewerIsFollowing isFollowingViewer postCount"
POST = f"""id body likeCount viewerHasLiked viewerHasShared viewerHasBookmarked hashtags
  author {{ {USER} }} mentions {{ username viewerIsFollowing }}
  comments(first: 2) {{ edges {{ node {{ id author {{ {USER} }} post {{ id }}
    replies(first: 2) {{ edges {{ node {{ id parent {{ id }} author {{ username }} }} }} }} }} }} }}
  likes(first: 2) {{ edges {{ node {{ user {{ {USER} }} }} }} }}
  shares(first: 2) {{ edges {{ node {{ user {{ {USER} }} comment }} }} }}"""
COMMENT = f"""id body replyCount viewerCanDelete author {{ {USER} }} post {{ id author {{ username }} }}
  parent {{ id author {{ username }} }}
  replies(first: 3) {{ edges {{ node {{ id author {{ {USER} }} parent {{ id }} }} }} }}"""


@pytest.fixture
def n_of_every_list(db):
    """A viewer, N users (following and followed by the viewer), N posts (with ties in created_at
    and like_count), and a hot post with N likes, shares, comments, replies, bookmarks, notifications."""
    viewer = make_user("viewer")
    now = timezone.now()
    users = User.objects.bulk_create(
        User(username=f"user{i}", email=f"user{i}@example.com", date_joined=now - datetime.timedelta(hours=i // 3))
        for i in range(N)
    )
    Follow.objects.bulk_create(Follow(follower=viewer, followee=u) for u in users)
    Follow.objects.bulk_create(Follow(follower=u, followee=viewer) for u in users)
    posts = Post.objects.bulk_create(
        Post(author=users[i % 7], body=f"post {i} #tag @user{i % 5}", hashtags=["tag"],
             created_at=now - datetime.timedelta(minutes=i // 4), like_count=i % 3, comment_count=i % 2)
        for i in range(N)
    )
    PostHashtag.objects.bulk_create(PostHashtag(post=p, tag="tag", created_at=p.created_at) for p in posts)
    Post.mentions.through.objects.bulk_create(
        Post.mentions.through(post_id=p.pk, user_id=users[i % 5].pk) for i, p in enumerate(posts)
    )
    hot = posts[0]
    Like.objects.bulk_create(Like(user=u, post=hot) for u in users)
    Share.objects.bulk_create(Share(user=u, post=hot, comment="see") for u in users)
    Bookmark.objects.bulk_create(Bookmark(user=viewer, post=p) for p in posts)
    tops = Comment.objects.bulk_create(
        Comment(post=p, author=users[i % 9], body=f"top {i}") for i, p in enumerate(posts)
    ) + Comment.objects.bulk_create(Comment(post=hot, author=u, body="on hot") for u in users)
    replies = Comment.objects.bulk_create(
        Comment(post=hot, author=u, parent=tops[0], body="reply") for u in users
    )
    Comment.objects.bulk_create(Comment(post=c.post, author=viewer, parent=c, body="r") for c in tops[1:N])
    Comment.objects.bulk_create(Comment(post=hot, author=viewer, parent=r, body="rr") for r in replies)
    Notification.objects.bulk_create(
        Notification(recipient=viewer, actor=users[i], post=posts[i] if i % 3 else None,
                     comment=tops[i] if i % 3 == 1 else None,
                     kind=["FOLLOW", "COMMENT", "LIKE"][i % 3]) for i in range(N)
    )
    hour = now.replace(minute=0, second=0, microsecond=0)
    PostStatsBucket.objects.bulk_create(
        PostStatsBucket(post=p, author_id=p.author_id, start=hour, likes=1 + i % 4) for i, p in enumerate(posts)
    )
    return {"viewer": viewer, "users": users, "posts": posts, "hot": hot, "tops": tops, "replies": replies}


def _posts(args: str = "") -> str:
    return f"query($n: Int!) {{ posts(first: $n{args}) {{ edges {{ node {{ {POST} }} }} }} }}"


LISTS = {
    "users": f"query($n: Int!) {{ users(first: $n) {{ edges {{ node {{ {USER} posts(first: 2) {{ edges {{ node {{ "
             f"id author {{ username }} viewerHasLiked }} }} }} }} }} }} }}",
    "followers": f"query($n: Int!) {{ viewer {{ followers(first: $n) {{ edges {{ node {{ {USER} }} }} }} }} }}",
    "following": f"query($n: Int!) {{ viewer {{ following(first: $n) {{ edges {{ node {{ {USER} }} }} }} }} }}",
    "posts": _posts(),
    "posts_by_likes": _posts(", orderBy: {field: LIKE_COUNT, direction: DESC}"),
    "posts_by_comments_asc": _posts(", orderBy: {field: COMMENT_COUNT, direction: ASC}"),
    "posts_by_shares": _posts(", orderBy: {field: SHARE_COUNT, direction: DESC}"),
    "posts_hashtag": _posts(', filter: {hashtag: "TAG"}'),
    "posts_hashtag_by_likes": _posts(', filter: {hashtag: "tag"}, orderBy: {field: LIKE_COUNT, direction: ASC}'),
    "posts_search": _posts(', filter: {search: "post"}'),
    "posts_username": _posts(', filter: {authorUsername: "user0"}'),
    "user_posts": f'query($n: Int!) {{ user(username: "user0") {{ posts(first: $n) {{ edges {{ node {{ {POST} }} }} }} }} }}',
    "feed": f"query($n: Int!) {{ feed(first: $n) {{ edges {{ share {{ user {{ {USER} }} post {{ id }} }} "
            f"node {{ {POST} }} }} }} }}",
    "post_comments": f"query($n: Int!, $id: ID!) {{ post(id: $id) {{ comments(first: $n) {{ edges {{ node {{ {COMMENT} "
                     f"}} }} }} }} }}",
    "comment_replies": f"query($n: Int!, $c: ID!) {{ node(id: $c) {{ ... on Comment {{ replies(first: $n) {{ edges {{ "
                       f"node {{ {COMMENT} }} }} }} }} }} }}",
    "post_likes": f"query($n: Int!, $id: ID!) {{ post(id: $id) {{ likes(first: $n) {{ edges {{ node {{ id createdAt "
                  f"user {{ {USER} posts(first: 1) {{ edges {{ node {{ id }} }} }} }} post {{ id }} }} }} }} }} }}",
    "post_shares": f"query($n: Int!, $id: ID!) {{ post(id: $id) {{ shares(first: $n) {{ edges {{ node {{ id comment "
                   f"user {{ {USER} }} post {{ id viewerHasShared }} }} }} }} }} }}",
    "bookmarks": f"query($n: Int!) {{ bookmarks(first: $n) {{ edges {{ node {{ {POST} }} }} }} }}",
    "notifications": f"query($n: Int!) {{ notifications(first: $n) {{ edges {{ node {{ id kind read "
                     f"actor {{ {USER} }} post {{ id viewerHasLiked author {{ {USER} }} }} "
                     f"comment {{ {COMMENT} }} }} }} }} }}",
    "mentions": f"query($n: Int!) {{ posts(first: $n) {{ edges {{ node {{ id mentions {{ {USER} "
                f"posts(first: 1) {{ edges {{ node {{ id }} }} }} }} }} }} }} }}",
    "trending_posts": f"query($n: Int!) {{ trendingPosts(first: $n, window: WEEK) {{ {POST} }} }}",
    "top_posts": f"query($n: Int!) {{ viewer {{ analytics {{ topPosts(first: $n) {{ {POST} }} }} }} }}",
}


def _variables(name: str, n_of_every_list, n: int) -> dict:
    if name in ("post_comments", "post_likes", "post_shares"):
        return {"n": n, "id": to_global_id("Post", n_of_every_list["hot"].pk)}
    if name == "comment_replies":
        return {"n": n, "c": to_global_id("Comment", n_of_every_list["tops"][0].pk)}
    return {"n": n}


def _count(gql, query, variables, user):
    with CaptureQueriesContext(connection) as ctx:
        r = gql(query, variables, user=user)
    assert r.status == 200 and not r.errors, r.body
    return len(ctx.captured_queries), r.data


def _items(data) -> int:
    """How many items the outermost list of a response holds."""
    while isinstance(data, dict):
        if "edges" in data:
            return len(data["edges"])
        (data,) = [v for v in data.values() if isinstance(v, (dict, list))][:1] or [None]
    return len(data or [])


@pytest.mark.parametrize("name", sorted(LISTS))
def test_list_costs_the_same_for_5_20_and_100_items(gql, n_of_every_list, name):
    if name == "top_posts":
        # topPosts are the viewer's own posts: give the viewer some.
        Post.objects.filter(pk__in=[p.pk for p in n_of_every_list["posts"]]).update(author=n_of_every_list["viewer"])
    counts, sizes = {}, {}
    for n in (5, 20, 100):
        trends.clear_trends()  # every call computes the ranking (one query) rather than the first only
        counts[n], data = _count(gql, LISTS[name], _variables(name, n_of_every_list, n), n_of_every_list["viewer"])
        sizes[n] = _items(data)
    expected = 16 if name in ("user_posts", "posts_username") else 100  # user0 wrote 16 posts
    assert sizes == {5: 5, 20: min(20, expected), 100: expected}, sizes
    assert counts[5] == counts[20] == counts[100], (counts, sizes)


def test_nodes_cost_one_query_per_type(gql, n_of_every_list):
    posts, users, tops = n_of_every_list["posts"], n_of_every_list["users"], n_of_every_list["tops"]
    query = f"""query($ids: [ID!]!) {{ nodes(ids: $ids) {{ id
      ... on Post {{ {POST} }} ... on User {{ {USER} }} ... on Comment {{ {COMMENT} }} }} }}"""
    counts = {}
    for n in (2, 10, 33):  # at most 100 ids
        ids = [to_global_id("Post", p.pk) for p in posts[:n]] + [to_global_id("User", u.pk) for u in users[:n]] + \
            [to_global_id("Comment", c.pk) for c in tops[:n]]
        counts[n], data = _count(gql, query, {"ids": ids}, n_of_every_list["viewer"])
        assert len([x for x in data["nodes"] if x]) == 3 * n
    assert counts[2] == counts[10] == counts[33], counts


def _backward(query: str) -> str:
    """The same selection with every connection read from its end: `last` for `first`."""
    return query.replace("(first: ", "(last: ")


@pytest.mark.parametrize("name", sorted(set(LISTS) - {"trending_posts", "top_posts"}))  # those two are no connections
def test_list_read_backward_costs_what_forward_costs(gql, n_of_every_list, name):
    """`last` on the list and on every nested list (the last page of each parent, read by the same
    LATERAL loaders the other way): constant for 5, 20 and 100 items, and never more than `first`
    costs (less when the end of a list holds items with nothing nested, e.g. the oldest users have
    no posts; tests/perf/test_query_counts.py pins a backward read with data at every level)."""
    query = _backward(LISTS[name])
    assert "first:" not in query and "last: $n" in query, query
    counts, sizes = {}, {}
    for n in (5, 20, 100):
        counts[n], data = _count(gql, query, _variables(name, n_of_every_list, n), n_of_every_list["viewer"])
        sizes[n] = _items(data)
    forward, _ = _count(gql, LISTS[name], _variables(name, n_of_every_list, 20), n_of_every_list["viewer"])
    expected = 16 if name in ("user_posts", "posts_username") else 100
    assert sizes == {5: 5, 20: min(20, expected), 100: expected}, sizes
    assert counts[5] == counts[20] == counts[100] <= forward, (counts, forward)


# Nested followers/following (issue 9 measured 88 / 1,311 / 16,783 statements for first 5 / 20 / 100 before they
# were batched): each level of the result is one LATERAL query (schema.users.loaders.FirstFollowers/-Following).
NESTED_FOLLOWS = f"""query($n: Int!) {{ viewer {{ followers(first: $n) {{ totalCount edges {{ node {{ {USER}
  followers(first: $n) {{ edges {{ cursor node {{ username following(first: $n) {{ pageInfo {{ hasNextPage }}
    edges {{ node {{ {USER} }} }} }} }} }} }}
  following(first: $n) {{ edges {{ node {{ username followers(first: $n) {{ edges {{ node {{ username }} }} }} }} }} }}
}} }} }} }} }}"""


@pytest.fixture
def follow_mesh(n_of_every_list):
    """On top of n_of_every_list: each user follows the next three, so every nested list holds several users."""
    users = n_of_every_list["users"]
    Follow.objects.bulk_create(Follow(follower=u, followee=users[(i + k) % N]) for i, u in enumerate(users)
                               for k in (1, 2, 3))
    return n_of_every_list


@pytest.mark.parametrize("n", [5, 20, 100])
def test_nested_followers_and_following_cost_the_same_for_5_20_and_100(gql, follow_mesh, n, settings):
    settings.GRAPHQL_MAX_NODES = 10**9  # first: 100 four levels deep is far over the node limit
    # 1 viewer (the token's user) + 1 viewer.followers + 1 per nested level (3) + 2 for the viewer flags
    # (viewerIsFollowing, isFollowingViewer) per level that selects them (2): 1 + 1 + 3 + 4 = 9.
    with assert_database_query_count(9):
        r = gql(NESTED_FOLLOWS, {"n": n}, user=follow_mesh["viewer"])
    assert r.status == 200 and not r.errors, r.body
    edges = r.data["viewer"]["followers"]["edges"]
    assert len(edges) == n
    nested = edges[0]["node"]["followers"]["edges"]
    assert len(nested) == 4  # the viewer and the three users before it
    assert all(len(e["node"]["following"]["edges"]) >= 1 for e in nested)
