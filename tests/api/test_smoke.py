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
