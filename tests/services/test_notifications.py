"""Notifications: kinds, never for oneself, once for like/share/follow, read state."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from graphql_relay import to_global_id

from feed.signals import post_mentions_changed
from interactions import services
from interactions.models import Bookmark
from notifications import selectors, services as notification_services
from notifications.models import Notification
from users import services as user_services

from tests.support.interactions import gid, kinds_for, make_post

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
    assert notification_services.notifications_mark_read(user=alice, ids=[first.pk, bobs.pk]) == 2
    assert selectors.unread_notification_count(bob) == 1
    assert list(selectors.notifications_of(alice, unread_only=True).values_list("kind", flat=True)) != []
    assert notification_services.notifications_mark_read(user=alice, all=True) == 0
    assert selectors.notifications_of(alice, unread_only=True).count() == 0
    assert selectors.notifications_of(alice).count() == 3
    with pytest.raises(ValidationError):
        notification_services.notifications_mark_read(user=alice)


# --- through the API ---------------------------------------------------------------------------
NOTIFICATIONS = """query($first: Int, $after: String, $unread: Boolean) {
  unreadNotificationCount
  notifications(first: $first, after: $after, unreadOnly: $unread) {
    edges { cursor node { id kind read createdAt actor { username }
      post { id body author { username } } comment { id body author { username } } } }
    pageInfo { hasNextPage endCursor } } }"""
MARK = """mutation($ids: [ID!], $all: Boolean) { markNotificationsRead(input: {ids: $ids, all: $all}) {
  unreadCount errors { field code } } }"""


def _setup_activity(alice, bob, carol):
    post = make_post(alice, "alice's post")
    services.like_create(user=bob, post_id=post.pk)
    comment = services.comment_create(author=carol, post_id=post.pk, body="nice")
    user_services.follow_create(follower=bob, followee=alice)
    return post, comment


def test_notifications_query(gql, alice, bob, carol):
    post, comment = _setup_activity(alice, bob, carol)
    r = gql(NOTIFICATIONS, user=alice)
    assert r.errors is None, r.body
    assert r.data["unreadNotificationCount"] == 3
    nodes = [edge["node"] for edge in r.data["notifications"]["edges"]]
    assert [(n["kind"], n["actor"]["username"], n["read"]) for n in nodes] == [
        ("FOLLOW", "bob", False), ("COMMENT", "carol", False), ("LIKE", "bob", False)]
    follow, commented, liked = nodes
    assert follow["post"] is None and follow["comment"] is None
    assert commented["comment"] == {"id": gid("Comment", comment.pk), "body": "nice", "author": {"username": "carol"}}
    assert liked["post"] == {"id": gid("Post", post.pk), "body": "alice's post", "author": {"username": "alice"}}

    # Pages: newest first, keyset cursors.
    first = gql(NOTIFICATIONS, {"first": 2}, user=alice).data["notifications"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = gql(NOTIFICATIONS, {"first": 2, "after": first["pageInfo"]["endCursor"]}, user=alice).data["notifications"]
    assert [e["node"]["kind"] for e in rest["edges"]] == ["LIKE"] and rest["pageInfo"]["hasNextPage"] is False

    # Nobody else sees them, not even by id.
    assert gql(NOTIFICATIONS, user=carol).data["notifications"]["edges"] == []
    r = gql("query($id: ID!) { node(id: $id) { id } }", {"id": follow["id"]}, user=carol)
    assert r.data["node"] is None
    r = gql("query($id: ID!) { node(id: $id) { ... on Notification { kind } } }", {"id": follow["id"]}, user=alice)
    assert r.data["node"] == {"kind": "FOLLOW"}


def test_mark_read(gql, alice, bob, carol):
    _setup_activity(alice, bob, carol)
    nodes = [e["node"] for e in gql(NOTIFICATIONS, user=alice).data["notifications"]["edges"]]
    bob_post = make_post(bob)
    services.like_create(user=alice, post_id=bob_post.pk)
    bobs = gql(NOTIFICATIONS, user=bob).data["notifications"]["edges"][0]["node"]["id"]

    r = gql(MARK, {"ids": [nodes[0]["id"], bobs]}, user=alice).data["markNotificationsRead"]
    assert r == {"unreadCount": 2, "errors": []}  # bob's id is ignored
    assert gql("{ unreadNotificationCount }", user=bob).data["unreadNotificationCount"] == 1
    unread = gql(NOTIFICATIONS, {"unread": True}, user=alice).data
    assert [e["node"]["id"] for e in unread["notifications"]["edges"]] == [nodes[1]["id"], nodes[2]["id"]]
    assert unread["unreadNotificationCount"] == 2

    refused = gql(MARK, {}, user=alice).data["markNotificationsRead"]
    assert refused == {"unreadCount": 2, "errors": [{"field": "ids", "code": "REQUIRED"}]}
    bad = gql(MARK, {"ids": ["nonsense"]}, user=alice).data["markNotificationsRead"]
    assert bad == {"unreadCount": 2, "errors": [{"field": "ids", "code": "NOT_FOUND"}]}

    assert gql(MARK, {"all": True}, user=alice).data["markNotificationsRead"] == {"unreadCount": 0, "errors": []}
    everything = gql(NOTIFICATIONS, user=alice).data
    assert everything["unreadNotificationCount"] == 0
    assert all(e["node"]["read"] for e in everything["notifications"]["edges"])
    assert gql(NOTIFICATIONS, {"unread": True}, user=alice).data["notifications"]["edges"] == []


def test_notifications_need_a_viewer(gql):
    for query in (NOTIFICATIONS, "{ unreadNotificationCount }", "{ notifications { edges { cursor } } }"):
        r = gql(query)
        assert r.error_codes() == ["UNAUTHENTICATED"] and r.data is None
    r = gql(MARK, {"all": True})
    assert r.error_codes() == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("rounds", [1, 10])
def test_notifications_page_query_count_is_constant(gql, alice, bob, carol, rounds, django_assert_num_queries):
    from tests.conftest import make_user

    for i in range(rounds):
        actor = make_user(f"fan{i}") if i else bob
        post = make_post(alice, f"post {i}")
        services.like_create(user=actor, post_id=post.pk)
        services.comment_create(author=actor, post_id=post.pk, body=f"comment {i}")
        services.share_create(user=actor, post_id=post.pk)
    # The viewer; the unread count; one page with actor, post, post author and comment joined in;
    # the comments' authors in one batch.
    with django_assert_num_queries(4):
        r = gql(NOTIFICATIONS, {"first": 100}, user=alice)
    assert len(r.data["notifications"]["edges"]) == 3 * rounds


# --- private to their owner ----------------------------------------------------------------------
def test_notifications_and_bookmarks_are_private(gql, alices_post, alice, carol):
    post = alices_post
    nid = to_global_id("Notification", Notification.objects.filter(recipient=alice).first().pk)
    bid = to_global_id("Bookmark", Bookmark.objects.get().pk)
    query = """query($n: ID!, $b: ID!, $p: ID!) {
      node(id: $n) { id } nodes(ids: [$n, $b]) { id }
      bookmark: node(id: $b) { id }
      post: node(id: $p) { ... on Post { viewerHasBookmarked } }
      bookmarks { edges { node { id } } }
      notifications { edges { node { id } } }
    }"""
    variables = {"n": nid, "b": bid, "p": to_global_id("Post", post.pk)}
    r = gql(query, variables, user=carol)
    assert r.data == {"node": None, "nodes": [None, None], "bookmark": None,
                      "post": {"viewerHasBookmarked": False}, "bookmarks": {"edges": []},
                      "notifications": {"edges": []}}, r.body
    assert gql(query, variables, user=alice).data["node"] == {"id": nid}
