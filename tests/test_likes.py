"""Likes: idempotent, exact counters, notifications once, through the services and the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from interactions import services
from interactions.models import Like, Notification

from .interactions_support import counter_mismatches, kinds_for, make_post

pytestmark = pytest.mark.django_db


def test_like_twice_counts_once_and_notifies_once(alice, bob):
    post = make_post(alice)
    like, created = services.like_create(user=bob, post_id=post.pk)
    assert created and like.user_id == bob.pk and like.post_id == post.pk
    again, created_again = services.like_create(user=bob, post_id=post.pk)
    assert not created_again and again.pk == like.pk
    post.refresh_from_db()
    assert post.like_count == 1
    assert kinds_for(alice) == [("LIKE", "bob")]


def test_unlike_and_like_again_does_not_notify_twice(alice, bob):
    post = make_post(alice)
    services.like_create(user=bob, post_id=post.pk)
    assert services.like_delete(user=bob, post_id=post.pk) is True
    assert services.like_delete(user=bob, post_id=post.pk) is False  # never done: not an error
    post.refresh_from_db()
    assert post.like_count == 0
    services.like_create(user=bob, post_id=post.pk)
    post.refresh_from_db()
    assert post.like_count == 1
    assert kinds_for(alice) == [("LIKE", "bob")]
    assert counter_mismatches() == []


def test_own_like_counts_but_does_not_notify(alice):
    post = make_post(alice)
    services.like_create(user=alice, post_id=post.pk)
    post.refresh_from_db()
    assert post.like_count == 1
    assert Notification.objects.count() == 0


def test_like_missing_post_is_not_found(alice):
    for call in (services.like_create, services.like_delete):
        with pytest.raises(ValidationError) as error:
            call(user=alice, post_id=987654)
        assert error.value.error_dict["post_id"][0].code == "not_found"
    assert Like.objects.count() == 0


def test_like_count_is_per_post(alice, bob, carol):
    first, second = make_post(alice), make_post(bob)
    for user in (alice, bob, carol):
        services.like_create(user=user, post_id=first.pk)
    services.like_create(user=carol, post_id=second.pk)
    services.like_delete(user=alice, post_id=first.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.like_count, second.like_count) == (2, 1)
    assert counter_mismatches() == []
