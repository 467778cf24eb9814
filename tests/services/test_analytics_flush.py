"""Analytics, the flush and the backfill: pending Redis counts folded into hourly buckets exactly once
(interrupted, concurrent, deleted posts), and buckets rebuilt from the rows."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from analytics import jobs, keys, reads, writes
from analytics.hours import from_epoch, hour_of
from analytics.models import PostStatsBucket
from feed.models import Post

from tests.support.analytics import analytics_keys, clean_analytics_keys, hours, post_at  # noqa: F401 - the fixture
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def hour_start(dt):
    return from_epoch(hour_of(dt))


def buckets_of(post):
    return {(b.start, b.views, b.likes, b.comments, b.shares)
            for b in PostStatsBucket.objects.filter(post=post).exclude(views=0, likes=0, comments=0, shares=0)}

# --- the flush -------------------------------------------------------------------------------
def test_flush_folds_views_and_interactions_into_hourly_buckets(alice, bob, carol, django_capture_on_commit_callbacks):
    post = post_at(alice)
    # Every count carries its time: 10 minutes into the last whole hour, so now + 400 s is the same hour.
    now = hour_start(timezone.now()) - hours(1) + timedelta(minutes=10)
    earlier = now - hours(3)
    writes.record_views(bob, [post.pk], now=earlier)
    writes.record_views(carol, [post.pk], now=earlier)
    writes.record_views(bob, [post.pk], now=now)
    with django_capture_on_commit_callbacks(execute=True):
        writes.record_interaction(post_id=post.pk, author_id=alice.pk, kind="likes", delta=1, at=earlier)
        writes.record_interaction(post_id=post.pk, author_id=alice.pk, kind="comments", delta=2, at=now)
        writes.record_interaction(post_id=post.pk, author_id=alice.pk, kind="shares", delta=1, at=now)
        writes.record_interaction(post_id=post.pk, author_id=alice.pk, kind="shares", delta=-1, at=now)

    result = jobs.flush_stats()
    assert (result.posts, result.views, result.skipped) == (1, 3, False)
    assert buckets_of(post) == {(hour_start(earlier), 2, 1, 0, 0), (hour_start(now), 1, 0, 2, 0)}
    post.refresh_from_db()
    assert post.view_count == 3
    # Nothing is left pending, except the lifetime HyperLogLog.
    assert reads.pending_views([post.pk]) == [0]
    assert analytics_keys() == [keys.hll_key(post.pk)]
    assert reads.unique_viewers([post.pk]) == [2]

    # A second flush adds nothing; new views add to the same bucket.
    assert jobs.flush_stats().posts == 0
    writes.record_views(carol, [post.pk], now=now + timedelta(seconds=400))
    jobs.flush_stats()
    post.refresh_from_db()
    assert post.view_count == 4
    assert buckets_of(post) == {(hour_start(earlier), 2, 1, 0, 0), (hour_start(now), 2, 0, 2, 0)}


def test_counts_arriving_during_a_flush_are_kept(alice, bob, carol, monkeypatch):
    post = post_at(alice)
    writes.record_views(bob, [post.pk])
    original = keys.pending_hashes
    arrived = []

    def read_then_more_views_arrive(names):
        hashes = original(names)
        if not arrived:  # between the flush's read and its subtraction
            arrived.append(writes.record_views(carol, [post.pk]))
            arrived.append(writes.record_views(None, [post.pk], fingerprint="x"))
        return hashes

    monkeypatch.setattr(keys, "pending_hashes", read_then_more_views_arrive)
    jobs.flush_stats()
    post.refresh_from_db()
    assert arrived == [1, 1]
    assert post.view_count == 1  # what was read
    assert reads.pending_views([post.pk]) == [2]  # what arrived meanwhile: still pending, not lost
    monkeypatch.setattr(keys, "pending_hashes", original)
    jobs.flush_stats()
    post.refresh_from_db()
    assert post.view_count == 3
    assert reads.pending_views([post.pk]) == [0]
    assert sum(b.views for b in PostStatsBucket.objects.filter(post=post)) == 3


def test_flush_drops_counts_of_deleted_posts(alice, bob):
    post = post_at(alice)
    writes.record_views(bob, [post.pk])
    pk = post.pk
    post.delete()
    result = jobs.flush_stats()
    assert result.missing_posts == [pk]
    assert analytics_keys() == []


@pytest.mark.django_db(transaction=True)
def test_flush_interrupted_after_commit_is_finished_by_the_next_one(monkeypatch):
    alice, bob = make_user("alice"), make_user("bob")
    post = post_at(alice)
    writes.record_views(bob, [post.pk])
    real_script = keys.script

    def crash_before_subtracting(source):
        if source == keys.SUBTRACT:
            raise ConnectionError("the process died")
        return real_script(source)

    monkeypatch.setattr(keys, "script", crash_before_subtracting)
    with pytest.raises(ConnectionError):
        jobs.flush_stats()
    monkeypatch.setattr(keys, "script", real_script)
    post.refresh_from_db()
    assert post.view_count == 1  # committed
    assert reads.pending_views([post.pk]) == [1]  # but not yet taken out of Redis

    result = jobs.flush_stats()
    assert result.recovered
    post.refresh_from_db()
    assert post.view_count == 1  # not applied twice
    assert reads.pending_views([post.pk]) == [0]
    assert sum(b.views for b in PostStatsBucket.objects.filter(post=post)) == 1


@pytest.mark.django_db(transaction=True)
def test_flush_interrupted_before_commit_applies_the_counts_once():
    import json

    alice, bob = make_user("alice"), make_user("bob")
    post = post_at(alice)
    writes.record_views(bob, [post.pk])
    # A batch whose transaction rolled back, as a flush that died before COMMIT leaves it.
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SELECT pg_current_xact_id()::text")
        xid = cursor.fetchone()[0]
        cursor.execute("ROLLBACK")
    items = [[str(post.pk), str(alice.pk), {f"{hour_of()}:v": "-1"}, "-1"]]
    keys.redis().set(keys.flushing_key(), json.dumps({"xid": xid, "items": items}))

    result = jobs.flush_stats()
    assert not result.recovered
    post.refresh_from_db()
    assert post.view_count == 1
    assert reads.pending_views([post.pk]) == [0]


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
                total += writes.record_views(None, ids, fingerprint=f"{viewer.pk}-{i}")
            counted.append(total)
        finally:
            connections.close_all()

    def flusher():
        try:
            while not done.is_set():
                jobs.flush_stats(batch_size=2)
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
    jobs.flush_stats()

    assert sum(counted) == 4 * 150 * 3
    assert sum(Post.objects.filter(pk__in=ids).values_list("view_count", flat=True)) == sum(counted)
    assert sum(PostStatsBucket.objects.filter(post_id__in=ids).values_list("views", flat=True)) == sum(counted)
    assert reads.pending_views(ids) == [0, 0, 0]
    assert keys.redis().exists(keys.flushing_key()) == 0


def test_only_one_flush_runs_at_a_time(alice, bob):
    post = post_at(alice)
    writes.record_views(bob, [post.pk])
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [jobs.lock_key()])
        assert jobs.flush_stats().skipped
        assert reads.pending_views([post.pk]) == [1]
        with other.cursor() as cursor:  # (closing would release it too, but asynchronously)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [jobs.lock_key()])
    finally:
        other.close()
    assert jobs.flush_stats().views == 1


# --- backfill ----------------------------------------------------------------------------------
def test_backfill_rebuilds_interaction_counts_from_the_rows(alice, bob, carol):
    from interactions.models import Comment, Like, Share

    post = post_at(alice)
    this_hour = from_epoch(hour_of())
    Like.objects.create(user=bob, post=post, created_at=this_hour - hours(5) + timedelta(minutes=1))
    Like.objects.create(user=carol, post=post, created_at=this_hour + timedelta(seconds=1))
    Comment.objects.create(author=bob, post=post, body="hi", created_at=this_hour + timedelta(seconds=2))
    Share.objects.create(user=carol, post=post, created_at=this_hour + timedelta(seconds=3))
    bucket = PostStatsBucket.objects.create(post=post, author=alice, start=this_hour - hours(2), views=7, likes=3)

    assert jobs.backfill_stats() == 2  # buckets written: the two hours with rows
    expected = {(this_hour - hours(5), 0, 1, 0, 0), (this_hour - hours(2), 7, 0, 0, 0), (this_hour, 0, 1, 1, 1)}
    assert {(b.start, b.views, b.likes, b.comments, b.shares)
            for b in PostStatsBucket.objects.filter(post=post)} == expected  # views kept, stale likes reset
    jobs.backfill_stats(since=this_hour - hours(1) + timedelta(minutes=30))  # from that whole hour on
    assert {(b.start, b.views, b.likes, b.comments, b.shares)
            for b in PostStatsBucket.objects.filter(post=post)} == expected
    bucket.refresh_from_db()
    assert bucket.views == 7
