"""Shares and bookmarks: idempotent, exact share counter, SHARE notifications once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from interactions import services
from interactions.models import Bookmark, Share
from notifications.models import Notification

from tests.support.interactions import counter_mismatches, gid, kinds_for, make_post

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


# --- through the API ---------------------------------------------------------------------------
SHARE = """mutation($id: ID!, $comment: String) { sharePost(input: {postId: $id, comment: $comment}) {
  share { id comment user { username } post { id } } post { shareCount viewerHasShared } errors { field code } } }"""
UNSHARE = """mutation($id: ID!) { unsharePost(input: {postId: $id}) { post { shareCount viewerHasShared }
  errors { field code } } }"""
BOOKMARK = """mutation($id: ID!) { bookmarkPost(input: {postId: $id}) { post { id viewerHasBookmarked }
  errors { field code } } }"""
UNBOOKMARK = """mutation($id: ID!) { unbookmarkPost(input: {postId: $id}) { post { id viewerHasBookmarked }
  errors { field code } } }"""
BOOKMARKS = """query($first: Int, $after: String) { bookmarks(first: $first, after: $after) {
  edges { cursor node { id body author { username } likeCount viewerHasBookmarked } }
  pageInfo { hasNextPage endCursor } } }"""


def test_share_mutations(gql, alice, bob):
    post = make_post(alice)
    r = gql(SHARE, {"id": gid("Post", post.pk), "comment": " must read "}, user=bob)
    assert r.errors is None, r.body
    payload = r.data["sharePost"]
    assert payload["errors"] == []
    assert payload["share"]["comment"] == "must read" and payload["share"]["user"]["username"] == "bob"
    assert payload["share"]["post"]["id"] == gid("Post", post.pk)
    assert payload["post"] == {"shareCount": 1, "viewerHasShared": True}
    again = gql(SHARE, {"id": gid("Post", post.pk)}, user=bob).data["sharePost"]
    assert again["share"]["id"] == payload["share"]["id"] and again["post"]["shareCount"] == 1

    too_long = gql(SHARE, {"id": gid("Post", post.pk), "comment": "x" * 501}, user=alice).data["sharePost"]
    assert too_long["errors"] == [{"field": "comment", "code": "TOO_LONG"}] and too_long["share"] is None

    for _ in range(2):
        undone = gql(UNSHARE, {"id": gid("Post", post.pk)}, user=bob).data["unsharePost"]
        assert undone == {"post": {"shareCount": 0, "viewerHasShared": False}, "errors": []}
    missing = gql(UNSHARE, {"id": gid("Post", 999999)}, user=bob).data["unsharePost"]
    assert missing == {"post": None, "errors": [{"field": "postId", "code": "NOT_FOUND"}]}


def test_bookmark_mutations_and_query(gql, alice, bob):
    posts = [make_post(alice, f"post {i}") for i in range(5)]
    for post in (posts[3], posts[0], posts[4], posts[1]):  # bookmark order, not post order, decides
        r = gql(BOOKMARK, {"id": gid("Post", post.pk)}, user=bob).data["bookmarkPost"]
        assert r == {"post": {"id": gid("Post", post.pk), "viewerHasBookmarked": True}, "errors": []}
    # Bookmarking again changes nothing (the post keeps its place).
    gql(BOOKMARK, {"id": gid("Post", posts[3].pk)}, user=bob)

    page = gql(BOOKMARKS, {"first": 3}, user=bob).data["bookmarks"]
    assert [e["node"]["body"] for e in page["edges"]] == ["post 1", "post 4", "post 0"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert all(e["node"]["viewerHasBookmarked"] and e["node"]["author"]["username"] == "alice" for e in page["edges"])
    rest = gql(BOOKMARKS, {"first": 3, "after": page["pageInfo"]["endCursor"]}, user=bob).data["bookmarks"]
    assert [e["node"]["body"] for e in rest["edges"]] == ["post 3"] and rest["pageInfo"]["hasNextPage"] is False

    for _ in range(2):
        r = gql(UNBOOKMARK, {"id": gid("Post", posts[1].pk)}, user=bob).data["unbookmarkPost"]
        assert r == {"post": {"id": gid("Post", posts[1].pk), "viewerHasBookmarked": False}, "errors": []}
    assert len(gql(BOOKMARKS, user=bob).data["bookmarks"]["edges"]) == 3
    assert gql(BOOKMARKS, user=alice).data["bookmarks"]["edges"] == []  # private


def test_bookmarks_need_a_viewer_and_valid_arguments(gql, alice):
    anonymous = gql(BOOKMARKS)
    assert anonymous.error_codes() == ["UNAUTHENTICATED"] and anonymous.data is None
    assert gql(BOOKMARKS, {"first": 101}, user=alice).error_codes() == ["BAD_USER_INPUT"]
    assert gql(BOOKMARKS, {"after": "nonsense"}, user=alice).error_codes() == ["BAD_USER_INPUT"]
    r = gql(BOOKMARK, {"id": gid("Post", 1)})
    assert r.error_codes() == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("size", [2, 20])
def test_bookmarks_query_count_is_constant(gql, alice, bob, carol, size, django_assert_num_queries):
    for i in range(size):
        post = make_post(alice if i % 2 else carol, f"post {i}")
        services.bookmark_create(user=bob, post_id=post.pk)
        services.like_create(user=bob, post_id=post.pk)
    # The viewer; the page (bookmarks + posts + authors joined); the viewer's flags for the page.
    with django_assert_num_queries(3):
        r = gql(BOOKMARKS, {"first": size}, user=bob)
    assert len(r.data["bookmarks"]["edges"]) == size
