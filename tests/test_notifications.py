"""Notifications: kinds, never for oneself, once for like/share/follow, read state."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from feed.signals import post_mentions_changed
from interactions import selectors, services
from interactions.models import Notification
from users import services as user_services

from .interactions_support import kinds_for, make_post

pytestmark = pytest.mark.django_db


def test_follow_notifies_once(alice, bob):
    user_services.follow_create(follower=bob, followee=alice)
    user_services.follow_delete(follower=bob, followee=alice)
    user_services.follow_create(follower=bob, followee=alice)
    user_services.follow_create(follower=bob, followee=alice)
    assert kinds_for(alice) == [("FOLLOW", "bob")]
    assert kinds_for(bob) == []


def test_post_mentions_signal(alice, bob, carol):
    post = make_post(alice, "hello @bob and @carol and me @alice")
    post_mentions_changed.send(sender=type(post), post=post, added_user_ids=[bob.pk, carol.pk, alice.pk])
    # An edit that removes and re-adds a mention does not notify again.
    post_mentions_changed.send(sender=type(post), post=post, added_user_ids=[bob.pk])
    assert kinds_for(bob) == [("MENTION", "alice")]
    assert kinds_for(carol) == [("MENTION", "alice")]
    assert kinds_for(alice) == []
    assert Notification.objects.get(recipient=bob).post_id == post.pk


def test_every_kind(alice, bob, carol):
    post = make_post(alice)
    services.like_create(user=bob, post_id=post.pk)
    comment = services.comment_create(author=bob, post_id=post.pk, body="hi")
    services.comment_create(author=carol, post_id=post.pk, body="hey @alice", parent_id=comment.pk)
    services.share_create(user=carol, post_id=post.pk)
    user_services.follow_create(follower=carol, followee=alice)
    assert kinds_for(alice) == [("LIKE", "bob"), ("COMMENT", "bob"), ("COMMENT", "carol"), ("SHARE", "carol"),
                                ("FOLLOW", "carol")]
    assert kinds_for(bob) == [("REPLY", "carol")]


def test_mark_read_by_ids_and_all(alice, bob, carol):
    post = make_post(alice)
    services.like_create(user=bob, post_id=post.pk)
    services.like_create(user=carol, post_id=post.pk)
    services.share_create(user=bob, post_id=post.pk)
    bob_post = make_post(bob)
    services.like_create(user=alice, post_id=bob_post.pk)
    assert selectors.unread_notification_count(alice) == 3
    first = Notification.objects.filter(recipient=alice).order_by("id").first()
    bobs = Notification.objects.get(recipient=bob)
    # Another user's notification id is ignored, not marked.
    assert services.notifications_mark_read(user=alice, ids=[first.pk, bobs.pk]) == 2
    assert selectors.unread_notification_count(bob) == 1
    assert list(selectors.notifications_of(alice, unread_only=True).values_list("kind", flat=True)) != []
    assert services.notifications_mark_read(user=alice, all=True) == 0
    assert selectors.notifications_of(alice, unread_only=True).count() == 0
    assert selectors.notifications_of(alice).count() == 3
    with pytest.raises(ValidationError):
        services.notifications_mark_read(user=alice)
