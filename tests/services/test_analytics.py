"""Analytics: views and unique viewers in Redis, the flush into hourly buckets, timelines, access rules."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from feed.models import Post
from interactions import analytics, services
from interactions.models import PostStatsBucket

from tests.support.analytics import analytics_keys, clear_analytics_keys, hours, post_at
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_analytics():
    clear_analytics_keys()
    yield
    clear_analytics_keys()


def gid(pk):
    return to_global_id("Post", pk)


def hour_start(dt):
    return analytics.from_epoch(analytics.hour_of(dt))


def buckets_of(post):
    return {(b.start, b.views, b.likes, b.comments, b.shares)
            for b in PostStatsBucket.objects.filter(post=post).exclude(views=0, likes=0, comments=0, shares=0)}


# --- recording views -----------------------------------------------------------------------
def test_views_count_per_viewer_and_unique_viewers_via_hyperloglog(alice, bob, carol):
    post = post_at(alice)
    assert analytics.record_views(bob, [post.pk, post.pk, post.pk]) == 1  # one view per request
    assert analytics.record_views(carol, [post.pk]) == 1
    assert analytics.record_views(bob, [post.pk]) == 0  # bob again, within the dedupe window
    assert analytics.pending_views([post.pk]) == [2]
    assert analytics.unique_viewers([post.pk]) == [2]


def test_anonymous_viewers_are_told_apart_by_fingerprint(alice):
    post = post_at(alice)
    assert analytics.record_views(None, [post.pk], fingerprint="10.0.0.1|Firefox") == 1
    assert analytics.record_views(None, [post.pk], fingerprint="10.0.0.1|Firefox") == 0
    assert analytics.record_views(None, [post.pk], fingerprint="10.0.0.2|Firefox") == 1
    assert analytics.unique_viewers([post.pk]) == [2]
    # The fingerprint is stored only as a keyed hash.
    assert not any("10.0.0" in key for key in analytics_keys())


def test_unknown_posts_and_own_posts_are_not_counted(alice, bob):
    mine, theirs = post_at(alice), post_at(bob)
    assert analytics.record_views(alice, [mine.pk, theirs.pk, 987654321]) == 1
    assert analytics.pending_views([mine.pk, theirs.pk, 987654321]) == [0, 1, 0]


def test_a_viewer_counts_again_in_the_next_dedupe_window(alice, bob, settings):
    settings.ANALYTICS_VIEW_DEDUPE_SECONDS = 300
    post = post_at(alice)
    start = (time.time() // 300) * 300 + 10
    assert analytics.record_views(bob, [post.pk], now=start) == 1
    assert analytics.record_views(bob, [post.pk], now=start + 200) == 0
    assert analytics.record_views(bob, [post.pk], now=start + 300) == 1
    assert analytics.pending_views([post.pk]) == [2]
    assert analytics.unique_viewers([post.pk]) == [1]  # still one person


def test_dedupe_can_be_switched_off(alice, bob, settings):
    settings.ANALYTICS_VIEW_DEDUPE_SECONDS = 0
    post = post_at(alice)
    assert analytics.record_views(bob, [post.pk]) == 1
    assert analytics.record_views(bob, [post.pk]) == 1
    assert analytics.pending_views([post.pk]) == [2]


def test_at_most_100_posts_per_call(alice, bob):
    post = post_at(alice)
    with pytest.raises(ValidationError) as error:
        analytics.record_views(bob, [post.pk] + list(range(10**6, 10**6 + 100)))
    assert "post_ids" in error.value.error_dict
    assert analytics.pending_views([post.pk]) == [0]


# --- the flush -------------------------------------------------------------------------------
def test_flush_folds_views_and_interactions_into_hourly_buckets(alice, bob, carol, django_capture_on_commit_callbacks):
    post = post_at(alice)
    now = timezone.now()
    earlier = now - hours(3)
    analytics.record_views(bob, [post.pk], now=earlier)
    analytics.record_views(carol, [post.pk], now=earlier)
    analytics.record_views(bob, [post.pk], now=now)
    with django_capture_on_commit_callbacks(execute=True):
        analytics.record_interaction(post_id=post.pk, author_id=alice.pk, kind="likes", delta=1, at=earlier)
        analytics.record_interaction(post_id=post.pk, author_id=alice.pk, kind="comments", delta=2)
        analytics.record_interaction(post_id=post.pk, author_id=alice.pk, kind="shares", delta=1)
        analytics.record_interaction(post_id=post.pk, author_id=alice.pk, kind="shares", delta=-1)

    result = analytics.flush_stats()
    assert (result.posts, result.views, result.skipped) == (1, 3, False)
    assert buckets_of(post) == {(hour_start(earlier), 2, 1, 0, 0), (hour_start(now), 1, 0, 2, 0)}
    post.refresh_from_db()
    assert post.view_count == 3
    # Nothing is left pending, except the lifetime HyperLogLog.
    assert analytics.pending_views([post.pk]) == [0]
    assert analytics_keys() == [analytics.hll_key(post.pk)]
    assert analytics.unique_viewers([post.pk]) == [2]

    # A second flush adds nothing; new views add to the same bucket.
    assert analytics.flush_stats().posts == 0
    analytics.record_views(carol, [post.pk], now=now + timedelta(seconds=400))
    analytics.flush_stats()
    post.refresh_from_db()
    assert post.view_count == 4
    assert (hour_start(now), 2, 0, 2, 0) in buckets_of(post) or now.minute >= 53  # +400 s may cross the hour


def test_counts_arriving_during_a_flush_are_kept(alice, bob, carol, monkeypatch):
    post = post_at(alice)
    analytics.record_views(bob, [post.pk])
    original = analytics._pending_hashes
    arrived = []

    def read_then_more_views_arrive(keys):
        hashes = original(keys)
        if not arrived:  # between the flush's read and its subtraction
            arrived.append(analytics.record_views(carol, [post.pk]))
            arrived.append(analytics.record_views(None, [post.pk], fingerprint="x"))
        return hashes

    monkeypatch.setattr(analytics, "_pending_hashes", read_then_more_views_arrive)
    analytics.flush_stats()
    post.refresh_from_db()
    assert arrived == [1, 1]
    assert post.view_count == 1  # what was read
    assert analytics.pending_views([post.pk]) == [2]  # what arrived meanwhile: still pending, not lost
    monkeypatch.setattr(analytics, "_pending_hashes", original)
    analytics.flush_stats()
    post.refresh_from_db()
    assert post.view_count == 3
    assert analytics.pending_views([post.pk]) == [0]
    assert sum(b.views for b in PostStatsBucket.objects.filter(post=post)) == 3


def test_flush_drops_counts_of_deleted_posts(alice, bob):
    post = post_at(alice)
    analytics.record_views(bob, [post.pk])
    pk = post.pk
    post.delete()
    result = analytics.flush_stats()
    assert result.missing_posts == [pk]
    assert analytics_keys() == []


@pytest.mark.django_db(transaction=True)
def test_flush_interrupted_after_commit_is_finished_by_the_next_one(monkeypatch):
    alice, bob = make_user("alice"), make_user("bob")
    post = post_at(alice)
    analytics.record_views(bob, [post.pk])
    real_script = analytics._script

    def crash_before_subtracting(source):
        if source == analytics._SUBTRACT:
            raise ConnectionError("the process died")
        return real_script(source)

    monkeypatch.setattr(analytics, "_script", crash_before_subtracting)
    with pytest.raises(ConnectionError):
        analytics.flush_stats()
    monkeypatch.setattr(analytics, "_script", real_script)
    post.refresh_from_db()
    assert post.view_count == 1  # committed
    assert analytics.pending_views([post.pk]) == [1]  # but not yet taken out of Redis

    result = analytics.flush_stats()
    assert result.recovered
    post.refresh_from_db()
    assert post.view_count == 1  # not applied twice
    assert analytics.pending_views([post.pk]) == [0]
    assert sum(b.views for b in PostStatsBucket.objects.filter(post=post)) == 1


@pytest.mark.django_db(transaction=True)
def test_flush_interrupted_before_commit_applies_the_counts_once():
    import json

    alice, bob = make_user("alice"), make_user("bob")
    post = post_at(alice)
    analytics.record_views(bob, [post.pk])
    # A batch whose transaction rolled back, as a flush that died before COMMIT leaves it.
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SELECT pg_current_xact_id()::text")
        xid = cursor.fetchone()[0]
        cursor.execute("ROLLBACK")
    items = [[str(post.pk), str(alice.pk), {f"{analytics.hour_of()}:v": "-1"}, "-1"]]
    analytics.redis().set(f"{analytics._prefix()}flushing", json.dumps({"xid": xid, "items": items}))

    result = analytics.flush_stats()
    assert not result.recovered
    post.refresh_from_db()
    assert post.view_count == 1
    assert analytics.pending_views([post.pk]) == [0]


@pytest.mark.django_db(transaction=True)
def test_views_recorded_during_concurrent_flushes_are_all_counted_once():
    alice = make_user("alice")
    viewers = [make_user(f"viewer{i}") for i in range(4)]
    posts = [post_at(alice) for _ in range(3)]
    ids = [p.pk for p in posts]
    counted = []
    done = threading.Event()

    def viewer_loop(viewer):
        try:
            total = 0
            for i in range(150):
                total += analytics.record_views(None, ids, fingerprint=f"{viewer.pk}-{i}")
            counted.append(total)
        finally:
            connections.close_all()

    def flusher():
        try:
            while not done.is_set():
                analytics.flush_stats(batch_size=2)
        finally:
            connections.close_all()

    flushers = [threading.Thread(target=flusher) for _ in range(2)]
    writers = [threading.Thread(target=viewer_loop, args=(v,)) for v in viewers]
    for t in flushers + writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in flushers:
        t.join()
    analytics.flush_stats()

    assert sum(counted) == 4 * 150 * 3
    assert sum(Post.objects.filter(pk__in=ids).values_list("view_count", flat=True)) == sum(counted)
    assert sum(PostStatsBucket.objects.filter(post_id__in=ids).values_list("views", flat=True)) == sum(counted)
    assert analytics.pending_views(ids) == [0, 0, 0]
    assert analytics.redis().exists(f"{analytics._prefix()}flushing") == 0


def test_only_one_flush_runs_at_a_time(alice, bob):
    post = post_at(alice)
    analytics.record_views(bob, [post.pk])
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [analytics._lock_key()])
        assert analytics.flush_stats().skipped
        assert analytics.pending_views([post.pk]) == [1]
        with other.cursor() as cursor:  # (closing would release it too, but asynchronously)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [analytics._lock_key()])
    finally:
        other.close()
    assert analytics.flush_stats().views == 1


# --- the services' hook ------------------------------------------------------------------------
def test_likes_through_the_service_reach_the_timeline_before_the_flush(alice, bob, django_capture_on_commit_callbacks):
    post = post_at(alice)
    with django_capture_on_commit_callbacks(execute=True):
        services.like_create(user=bob, post_id=post.pk)
    span = analytics.bucket_span(analytics.HOUR, None, None, default_since=post.created_at)
    [timeline] = analytics.post_timelines([(post.pk, span)])
    assert sum(b.likes for b in timeline) == 1
    analytics.flush_stats()
    [timeline] = analytics.post_timelines([(post.pk, span)])
    assert sum(b.likes for b in timeline) == 1


def test_rolled_back_interactions_are_not_counted(alice):
    post = post_at(alice)
    from django.db import transaction

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            analytics.record_interaction(post_id=post.pk, author_id=alice.pk, kind="likes")
            raise RuntimeError
    assert analytics_keys() == []


# --- bucket spans --------------------------------------------------------------------------------
def test_bucket_span_bounds():
    from tests.support.analytics import utc

    created = utc(2025, 1, 1, 10, 30)
    span = analytics.bucket_span(analytics.HOUR, None, utc(2025, 1, 1, 15, 0), default_since=created)
    assert (analytics.from_epoch(span.first), analytics.from_epoch(span.last), span.count) == (
        utc(2025, 1, 1, 10), utc(2025, 1, 1, 14), 5)  # until is exclusive: 15:00 starts no bucket
    span = analytics.bucket_span(analytics.DAY, utc(2025, 1, 3, 5), utc(2025, 1, 5, 0, 1), default_since=created)
    assert (analytics.from_epoch(span.first), span.count) == (utc(2025, 1, 3), 3)
    with pytest.raises(analytics.AnalyticsInputError):
        analytics.bucket_span(analytics.HOUR, utc(2025, 2, 1), utc(2025, 1, 1), default_since=created)
    with pytest.raises(analytics.AnalyticsInputError):
        analytics.bucket_span(analytics.HOUR, utc(2024, 1, 1), utc(2025, 1, 1), default_since=created)
    # Left out, `since` is the creation but at most MAX_BUCKETS back.
    span = analytics.bucket_span(analytics.HOUR, None, utc(2025, 6, 1), default_since=created)
    assert span.count == analytics.MAX_BUCKETS


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
    for _ in range(3):  # retried if the clock crossed an hour during the request
        before = analytics.hour_of()
        r = gql(POST_ANALYTICS, variables, user=user)
        if analytics.hour_of() == before:
            return r, before
    raise AssertionError("the clock keeps crossing hours")


def test_post_timeline_by_hour_includes_empty_buckets_and_pending_counts(gql, alice, bob, carol):
    this_hour = analytics.from_epoch(analytics.hour_of())
    post = post_at(alice, created_at=this_hour - hours(4) + timedelta(minutes=10), like_count=1)
    analytics.record_views(bob, [post.pk], now=this_hour - hours(4) + timedelta(minutes=20))
    analytics.record_views(carol, [post.pk], now=this_hour - hours(2))
    analytics.flush_stats()  # those two are in PostgreSQL now
    analytics.record_views(bob, [post.pk])  # this one is still pending in Redis
    analytics.record_views(carol, [post.pk])

    r, hour = _post_analytics(gql, post, alice)
    assert r.errors is None, r.errors
    data = r.data["node"]["analytics"]
    assert r.data["node"]["viewCount"] == 4
    assert (data["viewCount"], data["uniqueViewerCount"], data["likeCount"]) == (4, 2, 1)
    assert data["engagementRate"] == pytest.approx(0.25)
    views = [b["views"] for b in data["timeline"]]
    if hour == analytics.hour_of(this_hour):
        assert views == [1, 0, 1, 0, 2]  # oldest first, empty hours included
    assert [b["start"][:19] for b in data["timeline"]][0] == (this_hour - hours(4)).isoformat()[:19]


def test_post_timeline_by_day_with_since_and_until(gql, alice, bob, carol):
    from tests.support.analytics import utc

    post = post_at(alice, created_at=utc(2025, 3, 1, 8))
    analytics.record_views(bob, [post.pk], now=utc(2025, 3, 1, 9, 5))
    analytics.record_views(carol, [post.pk], now=utc(2025, 3, 1, 23, 59))
    analytics.flush_stats()
    analytics.record_views(bob, [post.pk], now=utc(2025, 3, 3, 12))  # pending, in an old hour
    r, _ = _post_analytics(gql, post, alice, bucket="DAY", since=utc(2025, 2, 28, 12), until=utc(2025, 3, 4))
    timeline = r.data["node"]["analytics"]["timeline"]
    assert [(b["start"][:10], b["views"]) for b in timeline] == [
        ("2025-02-28", 0), ("2025-03-01", 2), ("2025-03-02", 0), ("2025-03-03", 1)]

    r, _ = _post_analytics(gql, post, alice, bucket="HOUR", since=utc(2025, 3, 1, 9), until=utc(2025, 3, 1, 11))
    assert [b["views"] for b in r.data["node"]["analytics"]["timeline"]] == [1, 0]


def test_timeline_range_errors_are_bad_user_input(gql, alice):
    from tests.support.analytics import utc

    post = post_at(alice)
    r, _ = _post_analytics(gql, post, alice, since=utc(2025, 3, 2), until=utc(2025, 3, 1))
    assert r.error_codes() == ["BAD_USER_INPUT"]
    r, _ = _post_analytics(gql, post, alice, since=utc(2020, 1, 1), until=utc(2025, 1, 1))
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
    r, _ = _post_analytics(gql, post, alice)
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
    analytics.record_views(bob, [quiet.pk, popular.pk])
    with django_capture_on_commit_callbacks(execute=True):
        analytics.record_interaction(post_id=middling.pk, author_id=alice.pk, kind="likes")

    r = gql(USER_ANALYTICS, {"first": 2}, user=alice)
    assert r.errors is None, r.errors
    data = r.data["viewer"]["analytics"]
    assert (data["viewsReceived"], data["likesReceived"], data["commentsReceived"], data["sharesReceived"]) == (
        12, 6, 3, 1)
    assert [p["id"] for p in data["topPosts"]] == [gid(popular.pk), gid(middling.pk)]
    assert sum(b["views"] for b in data["timeline"]) == 2  # today's pending views
    assert sum(b["likes"] for b in data["timeline"]) == 1
    analytics.flush_stats()
    r = gql(USER_ANALYTICS, {"first": 2}, user=alice)
    assert r.data["viewer"]["analytics"]["viewsReceived"] == 12
    assert sum(b["views"] for b in r.data["viewer"]["analytics"]["timeline"]) == 2


def test_post_analytics_of_a_page_cost_the_same_queries_whatever_its_size(gql, alice, bob):
    posts = [post_at(alice) for _ in range(6)]
    analytics.record_views(bob, [p.pk for p in posts])
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
    assert analytics.pending_views([first.pk, second.pk]) == [2, 1]
    assert analytics.unique_viewers([first.pk]) == [2]


def test_record_post_views_takes_at_most_100(gql, alice, bob):
    post = post_at(alice)
    r = gql(RECORD, {"ids": [gid(post.pk)] * 101}, user=bob)
    assert r.data["recordPostViews"] == {"recorded": 0, "errors": [{"field": "postIds", "code": "INVALID"}]}
    assert analytics.pending_views([post.pk]) == [0]
    r = gql(RECORD, {"ids": [gid(post.pk)] * 100}, user=bob)
    assert r.data["recordPostViews"] == {"recorded": 1, "errors": []}


# --- backfill ----------------------------------------------------------------------------------
def test_backfill_rebuilds_interaction_counts_from_the_rows(alice, bob, carol):
    from interactions.models import Comment, Like, Share

    post = post_at(alice)
    this_hour = analytics.from_epoch(analytics.hour_of())
    Like.objects.create(user=bob, post=post, created_at=this_hour - hours(5) + timedelta(minutes=1))
    Like.objects.create(user=carol, post=post, created_at=this_hour + timedelta(seconds=1))
    Comment.objects.create(author=bob, post=post, body="hi", created_at=this_hour + timedelta(seconds=2))
    Share.objects.create(user=carol, post=post, created_at=this_hour + timedelta(seconds=3))
    bucket = PostStatsBucket.objects.create(post=post, author=alice, start=this_hour - hours(2), views=7, likes=3)

    assert analytics.backfill_stats() == 2  # buckets written: the two hours with rows
    expected = {(this_hour - hours(5), 0, 1, 0, 0), (this_hour - hours(2), 7, 0, 0, 0), (this_hour, 0, 1, 1, 1)}
    assert {(b.start, b.views, b.likes, b.comments, b.shares)
            for b in PostStatsBucket.objects.filter(post=post)} == expected  # views kept, stale likes reset
    analytics.backfill_stats(since=this_hour - hours(1) + timedelta(minutes=30))  # from that whole hour on
    assert {(b.start, b.views, b.likes, b.comments, b.shares)
            for b in PostStatsBucket.objects.filter(post=post)} == expected
    bucket.refresh_from_db()
    assert bucket.views == 7
