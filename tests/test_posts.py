"""Posts: create, edit, delete (validation, permissions, hashtags, mentions, counters) and reads."""

from __future__ import annotations

import pytest
from django.db import connection
from graphql_relay import to_global_id

from feed.models import Post, PostHashtag
from feed.signals import post_mentions_changed
from interactions.models import Comment, Like, Notification, Share
from users.models import User

from .conftest import make_user

CREATE = """mutation($body: String!) { createPost(input: {body: $body}) {
  post { id body hashtags mentions { username } author { username postCount } editedAt viewerCanUpdate }
  errors { field code message } } }"""
UPDATE = """mutation($id: ID!, $body: String!) { updatePost(input: {postId: $id, body: $body}) {
  post { id body hashtags mentions { username } editedAt } errors { field code } } }"""
DELETE = """mutation($id: ID!) { deletePost(input: {postId: $id}) { deletedPostId errors { field code } } }"""


def gid(post) -> str:
    return to_global_id("Post", post.pk)


def create(gql, user, body):
    r = gql(CREATE, {"body": body}, user=user)
    assert r.status == 200, r.body
    return r.data["createPost"]


def test_create_parses_hashtags_and_mentions(gql, alice, bob, carol):
    payload = create(gql, alice, "  Hello #Django and #django #Python3 @Bob @nobody_here @carol x@bob.com  ")
    assert payload["errors"] == []
    post = payload["post"]
    assert post["body"] == "Hello #Django and #django #Python3 @Bob @nobody_here @carol x@bob.com"
    assert post["hashtags"] == ["django", "python3"]
    assert sorted(m["username"] for m in post["mentions"]) == ["bob", "carol"]
    assert post["author"] == {"username": "alice", "postCount": 1}
    assert post["editedAt"] is None and post["viewerCanUpdate"] is True
    row = Post.objects.get()
    assert sorted(PostHashtag.objects.filter(post=row).values_list("tag", flat=True)) == ["django", "python3"]
    assert User.objects.get(pk=alice.pk).post_count == 1


@pytest.mark.parametrize("body, code", [("", "REQUIRED"), ("   \n\t ", "REQUIRED"), ("x" * 2001, "TOO_LONG")])
def test_create_validation(gql, alice, body, code):
    payload = create(gql, alice, body)
    assert payload["post"] is None
    assert payload["errors"] == [{"field": "body", "code": code, "message": payload["errors"][0]["message"]}]
    assert not Post.objects.exists()
    assert User.objects.get(pk=alice.pk).post_count == 0


def test_limit_counts_after_trimming(gql, alice):
    assert create(gql, alice, "  " + "x" * 2000 + "  ")["errors"] == []


def test_anonymous_cannot_post(gql):
    r = gql(CREATE, {"body": "hi"})
    assert r.error_codes() == ["UNAUTHENTICATED"]


def test_update_reparses_and_sets_edited_at(gql, alice, bob, carol):
    received = []

    def receiver(sender, post, added_user_ids, **kwargs):
        received.append(added_user_ids)

    post_mentions_changed.connect(receiver)
    try:
        post = create(gql, alice, "#one #two @bob")["post"]
        r = gql(UPDATE, {"id": post["id"], "body": "#two #three @bob @carol"}, user=alice)
    finally:
        post_mentions_changed.disconnect(receiver)
    data = r.data["updatePost"]
    assert data["errors"] == []
    assert data["post"]["hashtags"] == ["two", "three"]
    assert sorted(m["username"] for m in data["post"]["mentions"]) == ["bob", "carol"]
    assert data["post"]["editedAt"] is not None
    assert sorted(PostHashtag.objects.values_list("tag", flat=True)) == ["three", "two"]
    # Only newly mentioned users are announced (bob was mentioned before).
    assert received == [[bob.pk], [carol.pk]]


def test_update_errors(gql, alice, bob):
    post = create(gql, alice, "mine")["post"]
    r = gql(UPDATE, {"id": post["id"], "body": "yours now"}, user=bob)
    assert r.data["updatePost"] == {"post": None, "errors": [{"field": None, "code": "FORBIDDEN"}]}
    r = gql(UPDATE, {"id": post["id"], "body": " "}, user=alice)
    assert r.data["updatePost"]["errors"] == [{"field": "body", "code": "REQUIRED"}]
    missing = to_global_id("Post", 999999)
    r = gql(UPDATE, {"id": missing, "body": "x"}, user=alice)
    assert r.data["updatePost"]["errors"] == [{"field": "postId", "code": "NOT_FOUND"}]
    r = gql(UPDATE, {"id": to_global_id("User", alice.pk), "body": "x"}, user=alice)
    assert r.data["updatePost"]["errors"] == [{"field": "postId", "code": "NOT_FOUND"}]
    assert Post.objects.get().body == "mine"


def test_delete_cascades_and_keeps_counters(gql, alice, bob, carol):
    post_id = create(gql, alice, "to go #bye @bob")["post"]["id"]
    keep_id = create(gql, alice, "stays")["post"]["id"]
    post = Post.objects.get(body__startswith="to go")
    top = Comment.objects.create(post=post, author=bob, body="top", reply_count=1)
    reply = Comment.objects.create(post=post, author=carol, body="reply", parent=top)
    Like.objects.create(post=post, user=bob)
    Share.objects.create(post=post, user=carol)
    Notification.objects.create(recipient=bob, actor=carol, kind="REPLY", post=post, comment=reply)
    Notification.objects.create(recipient=alice, actor=bob, kind="LIKE", post=post)

    r = gql(DELETE, {"id": post_id}, user=bob)
    assert r.data["deletePost"] == {"deletedPostId": None, "errors": [{"field": None, "code": "FORBIDDEN"}]}

    r = gql(DELETE, {"id": post_id}, user=alice)
    assert r.data["deletePost"] == {"deletedPostId": post_id, "errors": []}
    assert list(Post.objects.values_list("body", flat=True)) == ["stays"]
    assert not Comment.objects.exists() and not Like.objects.exists() and not Share.objects.exists()
    assert not Notification.objects.exists() and not PostHashtag.objects.exists()
    assert not Post.mentions.through.objects.exists()
    assert User.objects.get(pk=alice.pk).post_count == 1 == Post.objects.filter(author=alice).count()

    r = gql(DELETE, {"id": post_id}, user=alice)
    assert r.data["deletePost"]["errors"] == [{"field": "postId", "code": "NOT_FOUND"}]
    r = gql("query($id: ID!) { post(id: $id) { id } node(id: $id) { id } }", {"id": post_id})
    assert r.data == {"post": None, "node": None}
    r = gql("query($id: ID!) { post(id: $id) { body } }", {"id": keep_id})
    assert r.data == {"post": {"body": "stays"}}
