"""Shares and bookmarks: idempotent, exact share counter, SHARE notifications once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from interactions import services
from interactions.models import Bookmark, Notification, Share

from .interactions_support import counter_mismatches, kinds_for, make_post

pytestmark = pytest.mark.django_db


def test_share_twice_keeps_the_first(alice, bob):
    post = make_post(alice)
    share, created = services.share_create(user=bob, post_id=post.pk, comment="  worth reading ")
    assert created and share.comment == "worth reading"
    again, created_again = services.share_create(user=bob, post_id=post.pk, comment="changed my mind")
    assert not created_again and again.pk == share.pk and again.comment == "worth reading"
    post.refresh_from_db()
    assert post.share_count == 1
    assert kinds_for(alice) == [("SHARE", "bob")]


def test_unshare_and_share_again(alice, bob):
    post = make_post(alice)
    assert services.share_delete(user=bob, post_id=post.pk) is False
    services.share_create(user=bob, post_id=post.pk)
    assert services.share_delete(user=bob, post_id=post.pk) is True
    services.share_create(user=bob, post_id=post.pk)
    post.refresh_from_db()
    assert post.share_count == 1
    assert kinds_for(alice) == [("SHARE", "bob")]
    assert counter_mismatches() == []


def test_share_comment_limit(alice, bob):
    post = make_post(alice)
    with pytest.raises(ValidationError) as error:
        services.share_create(user=bob, post_id=post.pk, comment="c" * 501)
    assert error.value.error_dict["comment"][0].code == "too_long"
    share, _ = services.share_create(user=bob, post_id=post.pk, comment=" " + "c" * 500 + " ")
    assert len(share.comment) == 500


def test_sharing_own_post_counts_without_notification(alice):
    post = make_post(alice)
    services.share_create(user=alice, post_id=post.pk)
    post.refresh_from_db()
    assert post.share_count == 1
    assert Notification.objects.count() == 0


def test_share_missing_post(alice):
    with pytest.raises(ValidationError) as error:
        services.share_create(user=alice, post_id=123456)
    assert error.value.error_dict["post_id"][0].code == "not_found"
    assert Share.objects.count() == 0


def test_bookmarks_are_idempotent_and_private(alice, bob):
    post = make_post(alice)
    bookmark, created = services.bookmark_create(user=bob, post_id=post.pk)
    assert created
    again, created_again = services.bookmark_create(user=bob, post_id=post.pk)
    assert not created_again and again.pk == bookmark.pk
    assert Notification.objects.count() == 0
    assert services.bookmark_delete(user=bob, post_id=post.pk) is True
    assert services.bookmark_delete(user=bob, post_id=post.pk) is False
    assert Bookmark.objects.count() == 0
    with pytest.raises(ValidationError):
        services.bookmark_create(user=bob, post_id=999999)
    with pytest.raises(ValidationError):
        services.bookmark_delete(user=bob, post_id=999999)
