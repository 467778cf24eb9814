"""Users through the API: viewer, lookup by username and id, and who may see an email or analytics."""

import json

import pytest
from graphql_relay import to_global_id


def test_viewer_and_user_lookup(gql, alice):
    r = gql("{ viewer { username email } user(username: \"ALICE\") { username email displayName } }", user=alice)
    assert r.status == 200, r.body
    assert r.data == {
        "viewer": {"username": "alice", "email": "alice@example.com"},
        "user": {"username": "alice", "email": "alice@example.com", "displayName": "Alice"},
    }


def test_anonymous_cannot_see_email(gql, alice):
    r = gql("{ viewer { username } user(username: \"alice\") { email } }")
    assert r.data == {"viewer": None, "user": {"email": None}}


def test_node_lookup(gql, alice):
    r = gql("query($id: ID!) { node(id: $id) { id ... on User { username } } nodes(ids: [$id, \"bogus\"]) { id } }",
            {"id": to_global_id("User", alice.pk)})
    assert r.data["node"]["username"] == "alice"
    assert r.data["nodes"][1] is None


# --- no path shows another user's email or analytics -------------------------------------------
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
