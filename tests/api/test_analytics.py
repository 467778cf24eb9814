"""Analytics through GraphQL: post and user analytics (timelines, totals, top posts), who may see them,
their query cost, and the recordPostViews mutation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time
from graphql_relay import to_global_id

from analytics import jobs, reads, writes

from tests.support.analytics import clean_analytics_keys, hours, post_at, utc  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def gid(pk):
    return to_global_id("Post", pk)


# --- GraphQL ---------------------------------------------------------------------------------------
POST_ANALYTICS = """
query($id: ID!, $bucket: TimeBucket!, $since: DateTime, $until: DateTime) {
  node(id: $id) { ... on Post {
    viewCount
    analytics {
      viewCount uniqueViewerCount likeCount commentCount shareCount engagementRate
      timeline(bucket: $bucket, since: $since, until: $until) { start views likes comments shares }
    }
  } }
}
"""


def _post_analytics(gql, post, user, bucket="HOUR", **args):
    variables = {"id": gid(post.pk), "bucket": bucket, **{k: v.isoformat() for k, v in args.items()}}
    return gql(POST_ANALYTICS, variables, user=user)


@freeze_time("2025-03-05 12:30:00")  # the request's "now" and the pending views' hour stay put
def test_post_timeline_by_hour_includes_empty_buckets_and_pending_counts(gql, alice, bob, carol):
    this_hour = utc(2025, 3, 5, 12)
    post = post_at(alice, created_at=this_hour - hours(4) + timedelta(minutes=10), like_count=1)
    writes.record_views(bob, [post.pk], now=this_hour - hours(4) + timedelta(minutes=20))
    writes.record_views(carol, [post.pk], now=this_hour - hours(2))
    jobs.flush_stats()  # those two are in PostgreSQL now
    writes.record_views(bob, [post.pk])  # this one is still pending in Redis
    writes.record_views(carol, [post.pk])

    r = _post_analytics(gql, post, alice)
    assert r.errors is None, r.errors
    data = r.data["node"]["analytics"]
    assert r.data["node"]["viewCount"] == 4
    assert (data["viewCount"], data["uniqueViewerCount"], data["likeCount"]) == (4, 2, 1)
    assert data["engagementRate"] == pytest.approx(0.25)
    assert [b["views"] for b in data["timeline"]] == [1, 0, 1, 0, 2]  # oldest first, empty hours included
    assert [b["start"][:19] for b in data["timeline"]][0] == (this_hour - hours(4)).isoformat()[:19]


def test_post_timeline_by_day_with_since_and_until(gql, alice, bob, carol):
    post = post_at(alice, created_at=utc(2025, 3, 1, 8))
    writes.record_views(bob, [post.pk], now=utc(2025, 3, 1, 9, 5))
    writes.record_views(carol, [post.pk], now=utc(2025, 3, 1, 23, 59))
    jobs.flush_stats()
    writes.record_views(bob, [post.pk], now=utc(2025, 3, 3, 12))  # pending, in an old hour
    r = _post_analytics(gql, post, alice, bucket="DAY", since=utc(2025, 2, 28, 12), until=utc(2025, 3, 4))
    timeline = r.data["node"]["analytics"]["timeline"]
    assert [(b["start"][:10], b["views"]) for b in timeline] == [
        ("2025-02-28", 0), ("2025-03-01", 2), ("2025-03-02", 0), ("2025-03-03", 1)]

    r = _post_analytics(gql, post, alice, bucket="HOUR", since=utc(2025, 3, 1, 9), until=utc(2025, 3, 1, 11))
    assert [b["views"] for b in r.data["node"]["analytics"]["timeline"]] == [1, 0]


def test_timeline_range_errors_are_bad_user_input(gql, alice):
    post = post_at(alice)
    r = _post_analytics(gql, post, alice, since=utc(2025, 3, 2), until=utc(2025, 3, 1))
    assert r.error_codes() == ["BAD_USER_INPUT"]
    r = _post_analytics(gql, post, alice, since=utc(2020, 1, 1), until=utc(2025, 1, 1))
    assert r.error_codes() == ["BAD_USER_INPUT"]
    assert "2000" in r.errors[0]["message"]


def test_analytics_are_for_the_author_only(gql, alice, bob):
    post = post_at(alice)
    query = """query($id: ID!, $user: String!) {
      node(id: $id) { ... on Post { analytics { viewCount } } }
      user(username: $user) { analytics { viewsReceived } }
    }"""
    for viewer in (bob, None):
        r = gql(query, {"id": gid(post.pk), "user": "alice"}, user=viewer)
        assert r.errors is None, r.errors
        assert r.data == {"node": {"analytics": None}, "user": {"analytics": None}}
    r = gql(query, {"id": gid(post.pk), "user": "alice"}, user=alice)
    assert r.data == {"node": {"analytics": {"viewCount": 0}}, "user": {"analytics": {"viewsReceived": 0}}}


def test_engagement_rate_is_zero_without_views(gql, alice):
    post = post_at(alice, like_count=3)
    r = _post_analytics(gql, post, alice)
    assert r.data["node"]["analytics"]["engagementRate"] == 0


USER_ANALYTICS = """
query($first: Int) { viewer { analytics {
  viewsReceived likesReceived commentsReceived sharesReceived
  timeline(bucket: DAY) { views likes }
  topPosts(first: $first) { id }
} } }
"""


def test_user_analytics_totals_timeline_and_top_posts(gql, alice, bob, carol, django_capture_on_commit_callbacks):
    quiet = post_at(alice, like_count=0)
    popular = post_at(alice, like_count=5, comment_count=2, share_count=1, view_count=10)
    middling = post_at(alice, like_count=1, comment_count=1)
    post_at(bob, like_count=50)  # not alice's
    writes.record_views(bob, [quiet.pk, popular.pk])
    with django_capture_on_commit_callbacks(execute=True):
        writes.record_interaction(post_id=middling.pk, author_id=alice.pk, kind="likes")

    r = gql(USER_ANALYTICS, {"first": 2}, user=alice)
    assert r.errors is None, r.errors
    data = r.data["viewer"]["analytics"]
    assert (data["viewsReceived"], data["likesReceived"], data["commentsReceived"], data["sharesReceived"]) == (
        12, 6, 3, 1)
    assert [p["id"] for p in data["topPosts"]] == [gid(popular.pk), gid(middling.pk)]
    assert sum(b["views"] for b in data["timeline"]) == 2  # today's pending views
    assert sum(b["likes"] for b in data["timeline"]) == 1
    jobs.flush_stats()
    r = gql(USER_ANALYTICS, {"first": 2}, user=alice)
    assert r.data["viewer"]["analytics"]["viewsReceived"] == 12
    assert sum(b["views"] for b in r.data["viewer"]["analytics"]["timeline"]) == 2


def test_post_analytics_of_a_page_cost_the_same_queries_whatever_its_size(gql, alice, bob):
    posts = [post_at(alice) for _ in range(6)]
    writes.record_views(bob, [p.pk for p in posts])
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Post { viewCount analytics {
        viewCount uniqueViewerCount engagementRate timeline(bucket: DAY) { views } } } } }"""

    def count(n):
        with CaptureQueriesContext(connection) as queries:
            r = gql(query, {"ids": [gid(p.pk) for p in posts[:n]]}, user=alice)
        assert r.errors is None, r.errors
        assert all(node["analytics"]["viewCount"] == 1 for node in r.data["nodes"])
        return len(queries)

    assert count(2) == count(6)


# --- recordPostViews -------------------------------------------------------------------------------
RECORD = "mutation($ids: [ID!]!) { recordPostViews(input: {postIds: $ids}) { recorded errors { field code } } }"


def test_record_post_views_mutation(gql, alice, bob):
    first, second = post_at(alice), post_at(alice)
    ids = [gid(first.pk), gid(second.pk), gid(first.pk), gid(987654), "not-an-id", to_global_id("User", bob.pk)]
    r = gql(RECORD, {"ids": ids}, user=bob)
    assert r.data["recordPostViews"] == {"recorded": 2, "errors": []}
    r = gql(RECORD, {"ids": ids}, user=bob)
    assert r.data["recordPostViews"]["recorded"] == 0  # already counted for bob in this window
    r = gql(RECORD, {"ids": [gid(first.pk)]})  # anonymous impressions count too
    assert r.data["recordPostViews"] == {"recorded": 1, "errors": []}
    assert reads.pending_views([first.pk, second.pk]) == [2, 1]
    assert reads.unique_viewers([first.pk]) == [2]


def test_record_post_views_takes_at_most_100(gql, alice, bob):
    post = post_at(alice)
    r = gql(RECORD, {"ids": [gid(post.pk)] * 101}, user=bob)
    assert r.data["recordPostViews"] == {"recorded": 0, "errors": [{"field": "postIds", "code": "INVALID"}]}
    assert reads.pending_views([post.pk]) == [0]
    r = gql(RECORD, {"ids": [gid(post.pk)] * 100}, user=bob)
    assert r.data["recordPostViews"] == {"recorded": 1, "errors": []}

