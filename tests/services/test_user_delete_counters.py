"""Deleting an account (the admin site, or deleteAccount) hides it at once and the purge deletes what it
owned batch by batch, every other row's counter equal to COUNT(*) after every batch; so does deleting a
follow in the admin."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from interactions import services as interactions
from unittest.mock import ANY

from feed.models import Post
from users import purge, services
from users.models import Follow, User

from tests.conftest import make_user
from tests.support.interactions import counter_mismatches, make_post


@pytest.fixture
def network(db):
    alice, bob, carol, dave = (make_user(name) for name in ("alice", "bob", "carol", "dave"))
    for a, b in ((alice, bob), (bob, alice), (carol, alice), (alice, dave), (bob, carol)):
        services.follow_create(follower=a, followee=b)
    bob_post, carol_post, alice_post = make_post(bob, "bob's"), make_post(carol, "carol's"), make_post(alice, "mine")
    for post in (bob_post, carol_post, alice_post):
        interactions.like_create(user=alice, post_id=post.pk)
        interactions.share_create(user=alice, post_id=post.pk)
        interactions.like_create(user=dave, post_id=post.pk)
    # Alice's comment on Bob's post with a thread under it (others' replies, and hers), her reply to
    # Carol's comment, and others' comments on her own post.
    top = interactions.comment_create(author=alice, post_id=bob_post.pk, body="first")
    reply = interactions.comment_create(author=bob, post_id=bob_post.pk, body="re", parent_id=top.pk)
    interactions.comment_create(author=alice, post_id=bob_post.pk, body="re re", parent_id=reply.pk)
    interactions.comment_create(author=carol, post_id=bob_post.pk, body="re 2", parent_id=top.pk)
    carols = interactions.comment_create(author=carol, post_id=carol_post.pk, body="hm")
    interactions.comment_create(author=alice, post_id=carol_post.pk, body="yes", parent_id=carols.pk)
    interactions.comment_create(author=dave, post_id=carol_post.pk, body="no", parent_id=carols.pk)
    on_hers = interactions.comment_create(author=bob, post_id=alice_post.pk, body="nice")
    interactions.comment_create(author=alice, post_id=alice_post.pk, body="thanks", parent_id=on_hers.pk)
    assert counter_mismatches() == []
    return alice, bob, carol, dave, bob_post, carol_post


def purge_checking_counters(user_id: int, limit: int = 1) -> int:
    """Purges the deleted user batch by batch (``limit`` rows per kind), every counter checked after each
    batch; returns how many batches it took."""
    batches = 0
    while purge.purge_user_step(user_id, limit) is not None:
        batches += 1
        assert counter_mismatches() == [], f"after batch {batches}"
    return batches


def test_deleting_a_user_hides_them_at_once_and_the_purge_keeps_every_counter_exact(network):
    alice, bob, carol, dave, bob_post, carol_post = network
    alices_posts = list(Post.objects.filter(author=alice).values_list("pk", flat=True))
    assert services.user_delete(alice) is True
    # At once: no login, no profile, no posts; the follows gone with both sides' counters.
    alice_row = User.objects.get(pk=alice.pk)
    assert not alice_row.is_active and alice_row.deleted_at is not None
    assert not Post.objects.filter(author=alice).exists() and Post.all_objects.filter(author=alice).exists()
    assert not Follow.objects.filter(follower=alice).exists() and not Follow.objects.filter(followee=alice).exists()
    bob.refresh_from_db()
    assert (bob.follower_count, bob.following_count) == (0, 1)
    assert counter_mismatches() == []
    assert services.user_delete(alice) is False  # already deleted: nothing more

    batches = purge_checking_counters(alice.pk)
    assert batches > 10  # one row per kind per batch: many small transactions
    assert not User.objects.filter(pk=alice.pk).exists()
    assert not Post.all_objects.filter(pk__in=alices_posts).exists()
    bob_post.refresh_from_db()
    carol_post.refresh_from_db()
    assert (bob_post.like_count, bob_post.share_count, bob_post.comment_count) == (1, 0, 0)
    assert (carol_post.like_count, carol_post.comment_count) == (1, 2)
    assert purge.purge_user_step(alice.pk) is None  # a rerun changes nothing
    assert counter_mismatches() == []


def test_the_admin_deletes_users_and_follows_through_the_services(network):
    alice, bob, carol, dave, *_ = network
    request = RequestFactory().post("/admin/")
    site._registry[User].delete_queryset(request, User.objects.filter(pk__in=[alice.pk, dave.pk]))
    assert counter_mismatches() == []
    assert set(User.objects.filter(is_active=False).values_list("pk", flat=True)) == {alice.pk, dave.pk}
    follow = Follow.objects.get(follower=bob, followee=carol)
    site._registry[Follow].delete_model(request, follow)
    assert counter_mismatches() == []
    carol.refresh_from_db()
    assert carol.follower_count == 0
    site._registry[User].delete_model(request, carol)
    for user in (alice, dave, carol):
        assert purge.purge_user(user.pk) == (True, ANY)
    assert counter_mismatches() == [] and User.objects.count() == 1
