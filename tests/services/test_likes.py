"""Likes: idempotent, exact counters, notifications once, through the services and the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from interactions import services
from interactions.models import Like
from notifications.models import Notification

from tests.support.interactions import counter_mismatches, gid, kinds_for, make_post

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


# --- through the API ---------------------------------------------------------------------------
LIKE = """mutation($id: ID!) { likePost(input: {postId: $id}) {
  post { id likeCount viewerHasLiked } like { id user { username } post { id } } errors { field code message } } }"""
UNLIKE = """mutation($id: ID!) { unlikePost(input: {postId: $id}) {
  post { likeCount viewerHasLiked } errors { field code } } }"""


def test_like_post_mutation(gql, alice, bob):
    post = make_post(alice)
    first = gql(LIKE, {"id": gid("Post", post.pk)}, user=bob)
    assert first.status == 200 and first.errors is None, first.body
    payload = first.data["likePost"]
    assert payload["errors"] == []
    assert payload["post"] == {"id": gid("Post", post.pk), "likeCount": 1, "viewerHasLiked": True}
    assert payload["like"]["user"]["username"] == "bob" and payload["like"]["post"]["id"] == gid("Post", post.pk)
    again = gql(LIKE, {"id": gid("Post", post.pk)}, user=bob).data["likePost"]
    assert again["errors"] == [] and again["post"]["likeCount"] == 1 and again["like"]["id"] == payload["like"]["id"]

    undone = gql(UNLIKE, {"id": gid("Post", post.pk)}, user=bob).data["unlikePost"]
    assert undone == {"post": {"likeCount": 0, "viewerHasLiked": False}, "errors": []}
    undone_again = gql(UNLIKE, {"id": gid("Post", post.pk)}, user=bob).data["unlikePost"]
    assert undone_again == {"post": {"likeCount": 0, "viewerHasLiked": False}, "errors": []}


def test_like_errors(gql, alice):
    post = make_post(alice)
    anonymous = gql(LIKE, {"id": gid("Post", post.pk)})
    assert anonymous.error_codes() == ["UNAUTHENTICATED"] and anonymous.data is None
    for bad in (gid("Post", 999999), gid("User", alice.pk), "garbage"):
        r = gql(LIKE, {"id": bad}, user=alice)
        assert r.errors is None
        assert r.data["likePost"]["errors"] == [{"field": "postId", "code": "NOT_FOUND", "message": "No Post has this id."}]
        assert r.data["likePost"]["post"] is None
    r = gql(UNLIKE, {"id": gid("Post", 999999)}, user=alice)
    assert r.data["unlikePost"]["errors"] == [{"field": "postId", "code": "NOT_FOUND"}]


def test_like_mutation_query_count(gql, alice, bob, django_assert_num_queries):
    post = make_post(alice)
    # The hot path: the viewer, then (savepoint) insert-with-post-check, notification, counter (release).
    # Nothing is reloaded when the payload does not ask for the post.
    with django_assert_num_queries(6):
        r = gql("mutation($id: ID!) { likePost(input: {postId: $id}) { errors { code } } }",
                {"id": gid("Post", post.pk)}, user=bob)
    assert r.data["likePost"]["errors"] == []


def test_interactions_reach_the_hourly_statistics(alice, bob, carol, django_capture_on_commit_callbacks):
    """The services' signals reach analytics' record_interaction; undos are taken back: buckets sum to the counters."""
    from django.db.models import Sum

    from analytics.jobs import flush_stats
    from analytics.models import PostStatsBucket

    post = make_post(alice)
    with django_capture_on_commit_callbacks(execute=True):
        for user in (alice, bob, carol):
            services.like_create(user=user, post_id=post.pk)
        services.like_delete(user=carol, post_id=post.pk)
        services.share_create(user=bob, post_id=post.pk)
        services.share_create(user=carol, post_id=post.pk)
        services.share_delete(user=bob, post_id=post.pk)
        top = services.comment_create(author=bob, post_id=post.pk, body="top")
        services.comment_create(author=carol, post_id=post.pk, body="reply", parent_id=top.pk)
        services.comment_create(author=carol, post_id=post.pk, body="another")
        services.comment_delete(user=bob, comment_id=top.pk)
    flush_stats()
    post.refresh_from_db()
    sums = PostStatsBucket.objects.filter(post=post).aggregate(likes=Sum("likes"), shares=Sum("shares"),
                                                               comments=Sum("comments"))
    assert sums == {"likes": post.like_count, "shares": post.share_count, "comments": post.comment_count} \
        == {"likes": 2, "shares": 1, "comments": 1}
