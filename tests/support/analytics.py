"""Helpers of the analytics and trends tests: posts at given times, a clean analytics key space."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings
from django_redis import get_redis_connection

from feed.models import Post


def clear_analytics_keys() -> None:
    """Deletes this run's analytics keys (the shared conftest only clears the Django cache's keys)."""
    redis = get_redis_connection("default")
    keys = list(redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:an:*", count=1000))
    if keys:
        redis.delete(*keys)


@pytest.fixture(autouse=True)
def clean_analytics_keys():
    """Autouse in every module that imports it: no analytics key of one test reaches the next."""
    clear_analytics_keys()
    yield
    clear_analytics_keys()


def analytics_keys() -> list[str]:
    """This run's analytics keys, but the dedupe windows' (they expire on their own)."""
    redis = get_redis_connection("default")
    keys = (k.decode() for k in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:an:*", count=1000))
    return sorted(k for k in keys if ":an:seen:" not in k)


def post_at(author, created_at: datetime | None = None, body: str = "Hello", **counters) -> Post:
    """A post written straight to the table, created at ``created_at`` (default now)."""
    post = Post.objects.create(author=author, body=body, **counters)
    if created_at is not None:
        Post.objects.filter(pk=post.pk).update(created_at=created_at)
        post.refresh_from_db()
    return post


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
