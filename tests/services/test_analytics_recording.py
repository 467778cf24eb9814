"""Analytics, recording: views and unique viewers in Redis (dedupe windows, fingerprints), interactions
from the services after commit, and the bucket spans timelines are cut into."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from analytics import jobs, reads, writes
from analytics.hours import DAY, HOUR, from_epoch
from interactions import services

from tests.support.analytics import analytics_keys, clean_analytics_keys, post_at, utc  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


# --- recording views -----------------------------------------------------------------------
def test_views_count_per_viewer_and_unique_viewers_via_hyperloglog(alice, bob, carol):
    post = post_at(alice)
    assert writes.record_views(bob, [post.pk, post.pk, post.pk]) == 1  # one view per request
    assert writes.record_views(carol, [post.pk]) == 1
    assert writes.record_views(bob, [post.pk]) == 0  # bob again, within the dedupe window
    assert reads.pending_views([post.pk]) == [2]
    assert reads.unique_viewers([post.pk]) == [2]


def test_anonymous_viewers_are_told_apart_by_fingerprint(alice):
    post = post_at(alice)
    assert writes.record_views(None, [post.pk], fingerprint="10.0.0.1|Firefox") == 1
    assert writes.record_views(None, [post.pk], fingerprint="10.0.0.1|Firefox") == 0
    assert writes.record_views(None, [post.pk], fingerprint="10.0.0.2|Firefox") == 1
    assert reads.unique_viewers([post.pk]) == [2]
    # The fingerprint is stored only as a keyed hash.
    assert not any("10.0.0" in key for key in analytics_keys())


def test_unknown_posts_and_own_posts_are_not_counted(alice, bob):
    mine, theirs = post_at(alice), post_at(bob)
    assert writes.record_views(alice, [mine.pk, theirs.pk, 987654321]) == 1
    assert reads.pending_views([mine.pk, theirs.pk, 987654321]) == [0, 1, 0]


def test_a_viewer_counts_again_in_the_next_dedupe_window(alice, bob, settings):
    settings.ANALYTICS_VIEW_DEDUPE_SECONDS = 300
    post = post_at(alice)
    start = (time.time() // 300) * 300 + 10
    assert writes.record_views(bob, [post.pk], now=start) == 1
    assert writes.record_views(bob, [post.pk], now=start + 200) == 0
    assert writes.record_views(bob, [post.pk], now=start + 300) == 1
    assert reads.pending_views([post.pk]) == [2]
    assert reads.unique_viewers([post.pk]) == [1]  # still one person


def test_dedupe_can_be_switched_off(alice, bob, settings):
    settings.ANALYTICS_VIEW_DEDUPE_SECONDS = 0
    post = post_at(alice)
    assert writes.record_views(bob, [post.pk]) == 1
    assert writes.record_views(bob, [post.pk]) == 1
    assert reads.pending_views([post.pk]) == [2]


def test_at_most_100_posts_per_call(alice, bob):
    post = post_at(alice)
    with pytest.raises(ValidationError) as error:
        writes.record_views(bob, [post.pk] + list(range(10**6, 10**6 + 100)))
    assert "post_ids" in error.value.error_dict
    assert reads.pending_views([post.pk]) == [0]


# --- the services' hook ------------------------------------------------------------------------
def test_likes_through_the_service_reach_the_timeline_before_the_flush(alice, bob, django_capture_on_commit_callbacks):
    post = post_at(alice)
    with django_capture_on_commit_callbacks(execute=True):
        services.like_create(user=bob, post_id=post.pk)
    span = reads.bucket_span(HOUR, None, None, default_since=post.created_at)
    [timeline] = reads.post_timelines([(post.pk, span)])
    assert sum(b.likes for b in timeline) == 1
    jobs.flush_stats()
    [timeline] = reads.post_timelines([(post.pk, span)])
    assert sum(b.likes for b in timeline) == 1


def test_rolled_back_interactions_are_not_counted(alice):
    post = post_at(alice)
    from django.db import transaction

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            writes.record_interaction(post_id=post.pk, author_id=alice.pk, kind="likes")
            raise RuntimeError
    assert analytics_keys() == []


# --- bucket spans --------------------------------------------------------------------------------
def test_bucket_span_bounds():
    created = utc(2025, 1, 1, 10, 30)
    span = reads.bucket_span(HOUR, None, utc(2025, 1, 1, 15, 0), default_since=created)
    assert (from_epoch(span.first), from_epoch(span.last), span.count) == (
        utc(2025, 1, 1, 10), utc(2025, 1, 1, 14), 5)  # until is exclusive: 15:00 starts no bucket
    span = reads.bucket_span(DAY, utc(2025, 1, 3, 5), utc(2025, 1, 5, 0, 1), default_since=created)
    assert (from_epoch(span.first), span.count) == (utc(2025, 1, 3), 3)
    with pytest.raises(reads.AnalyticsInputError):
        reads.bucket_span(HOUR, utc(2025, 2, 1), utc(2025, 1, 1), default_since=created)
    with pytest.raises(reads.AnalyticsInputError):
        reads.bucket_span(HOUR, utc(2024, 1, 1), utc(2025, 1, 1), default_since=created)
    # Left out, `since` is the creation but at most MAX_BUCKETS back.
    span = reads.bucket_span(HOUR, None, utc(2025, 6, 1), default_since=created)
    assert span.count == reads.MAX_BUCKETS

