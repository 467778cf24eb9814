"""Trends: recency-weighted post ranking per window, hashtags per window, and the Redis cache."""

from __future__ import annotations

import threading
import time

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from analytics import jobs, keys, trends
from analytics.hours import from_epoch, hour_of
from analytics.models import PostStatsBucket
from feed.models import PostHashtag
from interactions import services

from tests.support.analytics import clean_analytics_keys, hours, post_at, utc  # noqa: F401 - the fixture


pytestmark = pytest.mark.django_db

NOW = utc(2025, 6, 1, 12, 30)


def bucket(post, start, likes=0, comments=0, shares=0, views=0):
    return PostStatsBucket.objects.create(post=post, author_id=post.author_id, start=start, likes=likes,
                                          comments=comments, shares=shares, views=views)


def ranking(window, now=NOW):
    return trends.compute_post_scores(window, now=now.timestamp())


def test_recent_interactions_weigh_more_and_the_window_sets_the_half_life(alice):
    old = post_at(alice, created_at=NOW - hours(30))
    fresh = post_at(alice, created_at=NOW - hours(1))
    bucket(old, utc(2025, 5, 31, 16), likes=10)  # 20 hours ago (middle of the hour)
    bucket(fresh, utc(2025, 6, 1, 12), likes=6)  # this hour, 30 minutes of it so far

    day = ranking("DAY")
    assert [pk for pk, _ in day] == [fresh.pk, old.pk]
    scores = dict(day)
    assert scores[fresh.pk] == pytest.approx(6 * 0.5 ** (0.25 / 6))  # age 15 min, half-life 6 h
    assert scores[old.pk] == pytest.approx(10 * 0.5 ** (20 / 6))

    week = ranking("WEEK")  # half-life 42 h: ten likes from yesterday still beat six from now
    assert [pk for pk, _ in week] == [old.pk, fresh.pk]
    assert dict(week)[old.pk] == pytest.approx(10 * 0.5 ** (20 / 42))

    assert [pk for pk, _ in ranking("HOUR")] == [fresh.pk]  # yesterday is outside the hour


def test_kinds_are_weighted_and_ties_go_to_the_newer_post(alice):
    liked, shared, commented, also_liked = (post_at(alice) for _ in range(4))
    this_hour = utc(2025, 6, 1, 12)
    bucket(liked, this_hour, likes=2)
    bucket(shared, this_hour, shares=1)
    bucket(commented, this_hour, comments=1)
    bucket(also_liked, this_hour, likes=1)
    assert [pk for pk, _ in ranking("DAY")] == [shared.pk, commented.pk, liked.pk, also_liked.pk]


def test_the_hour_at_the_window_edge_counts_for_its_part_inside(alice):
    post = post_at(alice)
    bucket(post, utc(2025, 6, 1, 11), likes=4)  # 11:00-12:00; the HOUR window starts at 11:30
    bucket(post, utc(2025, 6, 1, 10), likes=100)  # entirely before the window
    [(pk, score)] = ranking("HOUR")
    # half of the hour is inside, centred at 11:45: 45 minutes old, half-life 15 minutes.
    assert score == pytest.approx(4 * 0.5 * 0.5 ** 3)


def test_posts_without_positive_engagement_in_the_window_are_left_out(alice):
    undone, ancient = post_at(alice), post_at(alice)
    bucket(undone, utc(2025, 6, 1, 12), likes=-1)  # a like taken back in this hour
    bucket(ancient, utc(2025, 5, 20), likes=50)  # 12 days ago
    assert ranking("WEEK") == []


def test_hashtags_rank_by_posts_in_the_window():
    from tests.conftest import make_user

    author = make_user("tagger")

    def tagged(tag, at, n):
        for _ in range(n):
            post = post_at(author, created_at=at)
            PostHashtag.objects.create(post=post, tag=tag, created_at=at)

    tagged("python", NOW - hours(2), 3)
    tagged("django", NOW - hours(3), 2)
    tagged("django", NOW - hours(48), 5)
    tagged("apple", NOW - hours(5), 2)
    tagged("cobol", NOW - hours(24 * 10), 9)  # outside every window
    now = NOW.timestamp()
    assert trends.compute_hashtag_counts("DAY", now=now) == [("python", 3), ("apple", 2), ("django", 2)]
    assert trends.compute_hashtag_counts("WEEK", now=now) == [("django", 7), ("python", 3), ("apple", 2)]
    assert trends.compute_hashtag_counts("HOUR", now=now) == []


# --- the cache ---------------------------------------------------------------------------------
def test_rankings_are_cached_for_a_minute(alice):
    now = timezone.now()
    first, second = post_at(alice), post_at(alice)
    bucket(first, from_epoch(hour_of(now)), likes=5)
    assert [pk for pk, _ in trends.trending_post_ids("DAY")] == [first.pk]
    bucket(second, from_epoch(hour_of(now)), likes=50)
    assert [pk for pk, _ in trends.trending_post_ids("DAY")] == [first.pk]  # from the cache
    trends.refresh_trends()  # what the periodic job does
    assert [pk for pk, _ in trends.trending_post_ids("DAY")] == [second.pk, first.pk]


def _age_entry(key, seconds):
    import json

    raw = json.loads(keys.redis().get(key))
    raw["at"] -= seconds
    keys.redis().set(key, json.dumps(raw))


def test_a_stale_entry_is_refreshed_by_one_caller_while_others_get_it_at_once(alice, monkeypatch, settings):
    settings.TRENDS_BACKGROUND_REFRESH = False
    post = post_at(alice)
    bucket(post, from_epoch(hour_of()), likes=1)
    key = trends._key("posts", "DAY")
    assert trends.trending_post_ids("DAY") == [(post.pk, pytest.approx(1, rel=0.1))]
    _age_entry(key, trends.FRESH_SECONDS + 1)
    calls = []
    monkeypatch.setattr(trends, "compute_post_scores", lambda window: calls.append(window) or [(42, 9.0)])

    lock = keys.redis().lock(f"{key}:lock", timeout=10)
    assert lock.acquire(blocking=False)  # someone else is refreshing it
    try:
        assert trends.trending_post_ids("DAY")[0][0] == post.pk  # the stale list, without waiting
        assert calls == []
    finally:
        lock.release()
    assert trends.trending_post_ids("DAY") == [(42, 9.0)]  # this caller refreshes it
    assert calls == ["DAY"]


def test_a_stale_entry_is_refreshed_by_the_worker(celery_worker, monkeypatch, settings):
    settings.TRENDS_BACKGROUND_REFRESH = True
    key = trends._key("posts", "HOUR")
    trends._store(key, [[1, 1.0]])
    _age_entry(key, trends.FRESH_SECONDS + 1)
    refreshed = threading.Event()

    def slow_compute(window):
        time.sleep(0.2)
        refreshed.set()
        return [(2, 2.0)]

    monkeypatch.setattr(trends, "compute_post_scores", slow_compute)  # the worker thread runs in this process
    started = time.perf_counter()
    assert trends.trending_post_ids("HOUR") == [(1, 1.0)]  # the stale list, at once
    assert trends.trending_post_ids("HOUR") == [(1, 1.0)]  # the refresh is already queued
    assert time.perf_counter() - started < 0.15
    assert refreshed.wait(15)
    for _ in range(500):  # the task stores it, then releases the lock
        if not keys.redis().exists(f"{key}:lock"):
            break
        time.sleep(0.01)
    assert keys.redis().exists(f"{key}:lock") == 0  # released by the task
    assert trends.trending_post_ids("HOUR") == [(2, 2.0)]


def test_a_stale_entry_is_refreshed_by_its_caller_when_the_broker_is_down(monkeypatch, settings):
    settings.TRENDS_BACKGROUND_REFRESH = True
    key = trends._key("posts", "HOUR")
    trends._store(key, [[1, 1.0]])
    _age_entry(key, trends.FRESH_SECONDS + 1)

    def broker_down(*args, **kwargs):
        raise ConnectionError("no broker")

    monkeypatch.setattr(trends, "_queue_refresh", broker_down)
    monkeypatch.setattr(trends, "compute_post_scores", lambda window: [(3, 3.0)])
    assert trends.trending_post_ids("HOUR") == [(3, 3.0)]
    assert keys.redis().exists(f"{key}:lock") == 0


def test_a_missing_entry_is_computed_once_for_a_crowd(monkeypatch):
    calls = []

    def slow_compute(window):
        calls.append(window)
        time.sleep(0.3)
        return [(7, 1.5)]

    monkeypatch.setattr(trends, "compute_post_scores", slow_compute)
    results = []
    crowd = [threading.Thread(target=lambda: results.append(trends.trending_post_ids("WEEK"))) for _ in range(8)]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join()
    assert calls == ["WEEK"]
    assert results == [[(7, 1.5)]] * 8


# --- GraphQL -----------------------------------------------------------------------------------
def test_trending_queries(gql, alice, bob, carol, django_capture_on_commit_callbacks):
    popular, quiet, old = post_at(alice, body="popular"), post_at(bob, body="quiet"), post_at(bob, body="old")
    with django_capture_on_commit_callbacks(execute=True):
        for user in (bob, carol):
            services.like_create(user=user, post_id=popular.pk)
        services.like_create(user=carol, post_id=quiet.pk)
    jobs.flush_stats()
    bucket(old, from_epoch(hour_of() - 3 * 86400), likes=40)
    now = timezone.now()
    for tag, n in (("rust", 1), ("go", 2)):
        for _ in range(n):
            PostHashtag.objects.create(post=post_at(alice), tag=tag, created_at=now)

    query = """query($first: Int, $window: TrendWindow) {
      trendingPosts(first: $first, window: $window) { id body }
      trendingHashtags(first: $first, window: $window) { tag postCount }
    }"""
    r = gql(query, {})
    assert r.errors is None, r.errors
    assert [p["body"] for p in r.data["trendingPosts"]] == ["popular", "quiet"]  # DAY by default
    assert r.data["trendingHashtags"] == [{"tag": "go", "postCount": 2}, {"tag": "rust", "postCount": 1}]
    r = gql(query, {"first": 1, "window": "WEEK"})
    assert r.data["trendingPosts"] == [{"id": to_global_id("Post", old.pk), "body": "old"}]
    assert r.data["trendingHashtags"] == [{"tag": "go", "postCount": 2}]
    r = gql(query, {"first": 101})
    assert r.error_codes() == ["BAD_USER_INPUT"]


def test_a_deleted_post_leaves_the_cached_ranking(gql, alice):
    gone, kept = post_at(alice, body="gone"), post_at(alice, body="kept")
    this_hour = from_epoch(hour_of())
    bucket(gone, this_hour, likes=9)
    bucket(kept, this_hour, likes=1)
    assert [p.body for p in trends.trending_posts("DAY")] == ["gone", "kept"]
    gone.delete()
    r = gql("{ trendingPosts { body } }")
    assert r.data["trendingPosts"] == [{"body": "kept"}]
