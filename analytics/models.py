from django.conf import settings
from django.db import models
from django.db.models import F, Q

from feed.models import Post


class PostStatsBucket(models.Model):
    """Interactions with one post in one hour. Views arrive from Redis via `flush_stats`."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="stats_buckets")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()  # the hour, truncated
    views = models.PositiveBigIntegerField(default=0)
    likes = models.IntegerField(default=0)
    comments = models.IntegerField(default=0)
    shares = models.IntegerField(default=0)

    class Meta:
        db_table = "interactions_poststatsbucket"  # moved from interactions with its table
        constraints = [models.UniqueConstraint(fields=["post", "start"], name="poststats_unique_hour")]
        indexes = [
            models.Index(F("author"), F("start"), name="poststats_author_idx"),
            # Trends: an index-only scan of the hours in a window, skipping buckets with views only.
            models.Index(
                fields=["start"],
                include=["post", "likes", "comments", "shares"],
                condition=~Q(likes=0) | ~Q(comments=0) | ~Q(shares=0),
                name="poststats_trend_idx",
            ),
        ]


class PostStatsDay(models.Model):
    """Interactions with one post in one UTC day: the hourly buckets older than
    ``ANALYTICS_HOURLY_RETENTION_DAYS`` rolled up (analytics.jobs.roll_up_stats). Reads add these rows to
    the hourly ones (analytics.reads), so totals never change when hours are rolled up; a rolled-up day
    shows in its first hour when hourly buckets are asked for."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="stats_days")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()  # the day, midnight UTC
    views = models.PositiveBigIntegerField(default=0)
    likes = models.IntegerField(default=0)
    comments = models.IntegerField(default=0)
    shares = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "start"], name="poststats_unique_day")]
        indexes = [models.Index(F("author"), F("start"), name="poststats_day_author_idx")]
