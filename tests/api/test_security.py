"""Security: who may change and see what (emails, analytics, notifications, bookmarks); tokens."""

import json

import pytest
from graphql_jwt.shortcuts import create_refresh_token, get_token
from graphql_relay import to_global_id

from interactions import services as interactions
from interactions.models import Bookmark, Notification


# --- authorization -------------------------------------------------------------------------------
def test_others_cannot_edit_or_delete_but_the_post_author_may_delete_a_comment(gql, alices_post, bobs_comment,
                                                                              alice, carol):
    post, comment = alices_post, bobs_comment
    pid, cid = to_global_id("Post", post.pk), to_global_id("Comment", comment.pk)
    for query, variables in [
        ("mutation($i: UpdatePostInput!) { updatePost(input: $i) { errors { code } post { id } } }",
         {"i": {"postId": pid, "body": "pwned"}}),
        ("mutation($i: DeletePostInput!) { deletePost(input: $i) { errors { code } deletedPostId } }",
         {"i": {"postId": pid}}),
        ("mutation($i: UpdateCommentInput!) { updateComment(input: $i) { errors { code } comment { id } } }",
         {"i": {"commentId": cid, "body": "pwned"}}),
        ("mutation($i: DeleteCommentInput!) { deleteComment(input: $i) { errors { code } deletedCommentId } }",
         {"i": {"commentId": cid}}),
    ]:
        r = gql(query, variables, user=carol)
        payload = next(iter(r.data.values()))
        assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"], r.body
    post.refresh_from_db()
    comment.refresh_from_db()
    assert post.body == "hello #tag @bob" and comment.body == "hi @alice"
    r = gql("mutation($i: DeleteCommentInput!) { deleteComment(input: $i) { errors { code } deletedCommentId } }",
            {"i": {"commentId": cid}}, user=alice)
    assert r.data["deleteComment"] == {"errors": [], "deletedCommentId": cid}


EVERY_USER_PATH = """query($p: ID!) {
  node(id: $p) { ... on Post {
    author { email analytics { likesReceived } }
    analytics { viewCount }
    likes { edges { node { user { email } } } }
    shares { edges { node { user { email } } } }
    comments { edges { node { author { email } } } }
    mentions { email }
  } }
  nodes(ids: [$p]) { ... on Post { author { email } } }
  posts { edges { node { author { email } } } }
  users { edges { node { username email analytics { likesReceived } } } }
}"""
FEED_PATH = "{ feed { edges { share { user { email } } node { author { email } } } } }"


@pytest.mark.parametrize("as_user", ["carol", "anonymous"])
def test_no_path_shows_another_users_email_or_analytics(gql, alices_post, request, as_user, bob, carol):
    from users.services import follow_create

    follow_create(follower=carol, followee=bob)
    viewer = carol if as_user == "carol" else None
    r = gql(EVERY_USER_PATH, {"p": to_global_id("Post", alices_post.pk)}, user=viewer)
    assert r.status == 200 and not r.errors, r.body
    text = json.dumps(r.data)
    if viewer is not None:  # carol follows bob, who shared alice's post
        feed = gql(FEED_PATH, user=viewer).data["feed"]["edges"]
        assert feed and feed[0]["share"]["user"] == {"email": None}
        text += json.dumps(feed)
    assert "alice@example.com" not in text and "bob@example.com" not in text
    node = r.data["node"]
    assert node["analytics"] is None and node["author"]["analytics"] is None
    for edge in r.data["users"]["edges"]:
        mine = viewer is not None and edge["node"]["username"] == "carol"
        assert (edge["node"]["analytics"] is not None) == mine
        assert (edge["node"]["email"] is not None) == mine


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


# --- tokens ----------------------------------------------------------------------------------------
REFRESH = "mutation($t: String) { refreshToken(refreshToken: $t) { token refreshToken } }"


def test_refresh_token_is_not_an_access_token_and_vice_versa(gql, alice):
    r = gql("{ viewer { username } }", token=str(create_refresh_token(alice)))
    assert r.status == 401 and r.error_codes() == ["UNAUTHENTICATED"]
    r = gql(REFRESH, {"t": get_token(alice)})
    assert r.error_codes() == ["UNAUTHENTICATED"] and r.data == {"refreshToken": None}


def test_deactivated_user_tokens_stop_working(gql, alice):
    access, refresh = get_token(alice), str(create_refresh_token(alice))
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    r = gql("{ viewer { username } }", token=access)
    assert r.status == 401 and r.error_codes() == ["UNAUTHENTICATED"]
    r = gql(REFRESH, {"t": refresh})
    assert r.error_codes() == ["UNAUTHENTICATED"] and r.data == {"refreshToken": None}, r.body
    alice.is_active = True
    alice.save(update_fields=["is_active"])
    assert gql(REFRESH, {"t": refresh}).error_codes() == ["UNAUTHENTICATED"]  # revoked for good


