"""The background tasks, run by a real worker through the real broker, their effects checked in PostgreSQL:
flush_stats (views into the hourly buckets, then the trends), the notification fan-out of a post mentioning
many users, and housekeeping (expired/revoked refresh tokens, old read notifications)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from users.models import RefreshToken

from analytics import keys, trends, writes
from analytics.models import PostStatsBucket
from analytics.tasks import flush_stats
from feed import services as feed_services
from feed.models import Post
from notifications.models import Notification
from notifications.tasks import fan_out, purge_read_notifications
from tests.conftest import make_user
from tests.support.analytics import clean_analytics_keys, post_at  # noqa: F401 - the fixture
from tests.support.celery import wait_until
from users.tasks import purge_refresh_tokens

pytestmark = pytest.mark.slow


def bucket_views(post) -> int:
    return sum(PostStatsBucket.objects.filter(post=post).values_list("views", flat=True))


def test_flush_stats_puts_recorded_views_into_the_buckets_and_refreshes_the_trends(celery_worker, alice, bob):
    post = post_at(alice)
    assert writes.record_views(bob, [post.pk]) == 1
    assert writes.record_views(None, [post.pk], fingerprint="198.51.100.7 curl") == 1
    trends.clear_trends()
    flush_stats.delay()
    assert wait_until(lambda: bucket_views(post) == 2)
    post.refresh_from_db()
    assert post.view_count == 2
    wait_until(lambda: keys.redis().exists(trends._key("tags", "WEEK")))  # the trends come right after
    # idempotent: a second run finds nothing pending and changes nothing
    flush_stats.delay()
    wait_until(lambda: keys.redis().exists(trends._key("posts", "DAY")))
    import time

    time.sleep(1)
    assert bucket_views(post) == 2


def test_the_beat_schedule_runs_the_tasks_this_service_defines(settings):
    from config.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
    assert settings.CELERY_BEAT_SCHEDULE["analytics-flush-stats"]["schedule"] == 60


def test_a_post_mentioning_many_users_notifies_them_from_the_worker(celery_worker, alice, settings):
    settings.NOTIFICATIONS_INLINE_FANOUT = 3
    names = [f"fan{i}" for i in range(8)]
    users = [make_user(name) for name in names]
    post = feed_services.post_create(author=alice, body="Hello " + " ".join(f"@{n}" for n in names))
    mentions = Notification.objects.filter(post=post, kind=Notification.Kind.MENTION)
    wait_until(lambda: mentions.count() == 8)
    assert sorted(mentions.values_list("recipient_id", flat=True)) == sorted(u.pk for u in users)
    # a retried or replayed message notifies nobody twice
    fan_out.delay(Notification.Kind.MENTION, alice.pk, [u.pk for u in users], post.pk, None)
    fan_out.delay(Notification.Kind.MENTION, alice.pk, [users[0].pk], None, None)  # a no-op marker after it
    import time

    time.sleep(1.5)
    assert mentions.count() == 8


def test_a_few_mentions_are_notified_in_the_write_itself(db, alice, bob, settings):
    settings.NOTIFICATIONS_INLINE_FANOUT = 3
    post = feed_services.post_create(author=alice, body="Hi @bob")
    assert Notification.objects.filter(post=post, recipient=bob, kind="MENTION").count() == 1


def test_fan_out_for_a_post_deleted_meanwhile_notifies_nobody(celery_worker, alice, bob):
    post = post_at(alice)
    post_id = post.pk
    Post.objects.filter(pk=post_id).delete()
    fan_out.delay(Notification.Kind.MENTION, alice.pk, [bob.pk], post_id, None)
    from tests.support.celery import dead_letters
    assert dead_letters("notifications.fan_out", timeout=3) == []
    assert Notification.objects.filter(recipient=bob).count() == 0


def test_housekeeping_deletes_expired_and_revoked_refresh_tokens(celery_worker, alice, settings):
    settings.HOUSEKEEPING_BATCH = 2  # several batches
    fresh = RefreshToken.objects.create(user=alice, token="fresh")
    revoked = [RefreshToken.objects.create(user=alice, token=f"revoked{i}", revoked=timezone.now()) for i in range(3)]
    expired = [RefreshToken.objects.create(user=alice, token=f"old{i}") for i in range(2)]
    too_old = timezone.now() - settings.GRAPHQL_JWT["JWT_REFRESH_EXPIRATION_DELTA"] - timedelta(minutes=1)
    RefreshToken.objects.filter(pk__in=[t.pk for t in expired]).update(created=too_old)
    purge_refresh_tokens.delay()
    wait_until(lambda: RefreshToken.objects.count() == 1)
    assert list(RefreshToken.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not RefreshToken.objects.filter(pk__in=[t.pk for t in revoked]).exists()


def test_housekeeping_deletes_old_read_notifications_only(celery_worker, alice, bob, settings):
    settings.NOTIFICATIONS_READ_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    make = lambda **f: Notification.objects.create(recipient=bob, actor=alice, kind="MENTION", **f)  # noqa: E731
    old_read = make(read_at=old)
    recent_read = make(read_at=timezone.now() - timedelta(days=1))
    old_unread = Notification.objects.create(recipient=bob, actor=alice, kind="MENTION", created_at=old)
    purge_read_notifications.delay()
    wait_until(lambda: not Notification.objects.filter(pk=old_read.pk).exists())
    assert set(Notification.objects.values_list("pk", flat=True)) == {recent_read.pk, old_unread.pk}


def test_old_hourly_buckets_are_rolled_up_into_days_and_the_totals_stay(celery_worker, alice, settings):
    from datetime import datetime, timezone as tz

    from analytics import reads
    from analytics.models import PostStatsDay
    from analytics.tasks import roll_up_stats

    settings.ANALYTICS_HOURLY_RETENTION_DAYS = 30
    post = post_at(alice)
    old_day = (datetime.now(tz.utc) - timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
    recent = (datetime.now(tz.utc) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    for hour, views, likes in ((3, 5, 1), (17, 7, 2)):
        PostStatsBucket.objects.create(post=post, author=alice, start=old_day + timedelta(hours=hour), views=views,
                                       likes=likes)
    PostStatsBucket.objects.create(post=post, author=alice, start=recent, views=11)
    span = reads.bucket_span(86400, old_day - timedelta(days=1), datetime.now(tz.utc), default_since=old_day)

    def totals():
        buckets = reads.post_timelines([(post.pk, span)])[0]
        return sum(b.views for b in buckets), sum(b.likes for b in buckets)

    assert totals() == (23, 3)
    roll_up_stats.delay()
    wait_until(lambda: PostStatsDay.objects.filter(post=post).exists())
    day = PostStatsDay.objects.get(post=post)
    assert (day.start, day.views, day.likes) == (old_day, 12, 3)
    assert list(PostStatsBucket.objects.filter(post=post).values_list("start", flat=True)) == [recent]
    assert totals() == (23, 3)  # the reads add the days: nothing changed for the API
    roll_up_stats.delay()  # idempotent: nothing left to move
    import time

    time.sleep(1)
    assert PostStatsDay.objects.get(post=post).views == 12
