"""The follow graph: idempotent follow/unfollow, exact counters, pagination, privacy, HTTP rules."""

import json

from django.test import Client
from graphql_relay import to_global_id

from users.models import Follow, User

from tests.conftest import make_user

FOLLOW = """
mutation($id: ID!) { followUser(input: {userId: $id}) {
  user { username followerCount viewerIsFollowing isFollowingViewer }
  viewer { username followingCount }
  errors { field message code } } }"""
UNFOLLOW = """
mutation($id: ID!) { unfollowUser(input: {userId: $id}) {
  user { username followerCount viewerIsFollowing } viewer { followingCount } errors { field code } } }"""


def gid(user):
    return to_global_id("User", user.pk)


def counts(user):
    user.refresh_from_db()
    return user.follower_count, user.following_count


def test_follow_is_idempotent_and_counters_exact(gql, alice, bob):
    for _ in range(3):
        r = gql(FOLLOW, {"id": gid(bob)}, user=alice)
        payload = r.data["followUser"]
        assert payload["errors"] == []
        assert payload["user"] == {"username": "bob", "followerCount": 1, "viewerIsFollowing": True,
                                   "isFollowingViewer": False}
        assert payload["viewer"] == {"username": "alice", "followingCount": 1}
    assert Follow.objects.filter(follower=alice, followee=bob).count() == 1
    assert counts(bob) == (1, 0) and counts(alice) == (0, 1)

    for _ in range(2):
        r = gql(UNFOLLOW, {"id": gid(bob)}, user=alice)
        assert r.data["unfollowUser"]["errors"] == []
        assert r.data["unfollowUser"]["user"]["followerCount"] == 0
        assert r.data["unfollowUser"]["user"]["viewerIsFollowing"] is False
    assert counts(bob) == (0, 0) and counts(alice) == (0, 0)


def test_mutual_follow_flags(gql, alice, bob):
    gql(FOLLOW, {"id": gid(alice)}, user=bob)
    r = gql(FOLLOW, {"id": gid(bob)}, user=alice)
    assert r.data["followUser"]["user"]["isFollowingViewer"] is True


def test_self_follow_is_invalid(gql, alice):
    r = gql(FOLLOW, {"id": gid(alice)}, user=alice)
    assert r.data["followUser"]["user"] is None
    assert r.data["followUser"]["errors"] == [
        {"field": "userId", "message": "You cannot follow yourself.", "code": "INVALID"}
    ]
    assert counts(alice) == (0, 0)


def test_follow_unknown_or_malformed_user(gql, alice):
    for value in [to_global_id("User", 999999), "garbage", to_global_id("Post", 1)]:
        r = gql(FOLLOW, {"id": value}, user=alice)
        assert r.status == 200
        assert [e["code"] for e in r.data["followUser"]["errors"]] == ["NOT_FOUND"]


def test_follow_requires_authentication(gql, bob):
    r = gql(FOLLOW, {"id": gid(bob)})
    assert r.data is None or r.data.get("followUser") is None
    assert r.error_codes() == ["UNAUTHENTICATED"]


def test_self_follow_blocked_by_database_constraint(db, alice):
    from django.db import IntegrityError, transaction

    import pytest

    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=alice, followee=alice)


def test_followers_pagination_has_no_gaps_or_repeats(gql, alice):
    fans = [make_user(f"fan{i:02d}") for i in range(23)]
    for fan in fans:
        gql(FOLLOW, {"id": gid(alice)}, user=fan)
    query = """query($after: String) { user(username: "alice") { followerCount
      followers(first: 5, after: $after) { edges { cursor node { username } }
      pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } } }"""
    seen, after, pages = [], None, 0
    while True:
        r = gql(query, {"after": after})
        conn = r.data["user"]["followers"]
        if pages == 0:
            assert conn["pageInfo"]["hasPreviousPage"] is False
            # A follow arriving while paging must not shift later pages.
            gql(FOLLOW, {"id": gid(alice)}, user=make_user("latecomer"))
        seen += [e["node"]["username"] for e in conn["edges"]]
        assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == 5
    assert seen == [f.username for f in reversed(fans)]  # most recent follow first, each once
    # The same cursor gives the same page again (stable).
    again = gql(query, {"after": after}).data["user"]["followers"]["edges"]
    assert [e["node"]["username"] for e in again] == seen[20:]


def test_users_search_and_pagination(gql, alice, bob):
    make_user("zed_the_third", display_name="Zed")
    make_user("another", display_name="Bobby Tables")
    r = gql('{ users(search: "BOB") { edges { node { username } } } }')
    assert sorted(e["node"]["username"] for e in r.data["users"]["edges"]) == ["another", "bob"]
    first = gql("{ users(first: 2) { edges { node { username } } pageInfo { endCursor hasNextPage } } }")
    conn = first.data["users"]
    assert [e["node"]["username"] for e in conn["edges"]] == ["another", "zed_the_third"]
    rest = gql("query($a: String) { users(first: 10, after: $a) { edges { node { username } } } }",
               {"a": conn["pageInfo"]["endCursor"]})
    assert [e["node"]["username"] for e in rest.data["users"]["edges"]] == ["bob", "alice"]


def test_page_size_limits(gql, alice):
    for bad in (101, -1):
        r = gql("query($n: Int) { users(first: $n) { edges { cursor } } }", {"n": bad})
        assert r.error_codes() == ["BAD_USER_INPUT"]
    assert len(gql("{ users { edges { cursor } } }").data["users"]["edges"]) == 1
    assert gql("{ users(first: 0) { edges { cursor } } }").data["users"]["edges"] == []


def test_bad_cursor_is_bad_user_input(gql, alice):
    for cursor in ("nope", "W10", "eyJhIjoxfQ"):
        r = gql("query($c: String) { users(after: $c) { edges { cursor } } }", {"c": cursor})
        assert r.error_codes() == ["BAD_USER_INPUT"], cursor


def test_email_is_private(gql, alice, bob):
    query = '{ viewer { email } a: user(username: "alice") { email } b: user(username: "bob") { email } }'
    r = gql(query, user=alice)
    assert r.data == {"viewer": {"email": "alice@example.com"}, "a": {"email": "alice@example.com"},
                      "b": {"email": None}}


def test_update_profile(gql, alice):
    mutation = """mutation($i: UpdateProfileInput!) { updateProfile(input: $i) {
      user { displayName bio avatarUrl } errors { field code } } }"""
    r = gql(mutation, {"i": {"displayName": " Alice L. ", "bio": "Hi", "avatarUrl": "https://x.test/a.png"}},
            user=alice)
    assert r.data["updateProfile"] == {
        "user": {"displayName": "Alice L.", "bio": "Hi", "avatarUrl": "https://x.test/a.png"}, "errors": []}
    r = gql(mutation, {"i": {"bio": "b" * 301, "avatarUrl": "javascript:alert(1)"}}, user=alice)
    assert sorted((e["field"], e["code"]) for e in r.data["updateProfile"]["errors"]) == [
        ("avatarUrl", "INVALID"), ("bio", "TOO_LONG")]
    alice.refresh_from_db()
    assert alice.bio == "Hi"  # nothing stored from the refused input


def test_get_mutation_refused_and_get_query_allowed(db, alice):
    client = Client()
    r = client.get("/graphql", {"query": 'mutation { followUser(input: {userId: "x"}) { errors { code } } }'},
                   HTTP_ACCEPT="application/json")
    assert r.status_code == 405
    assert r["Allow"] == "POST"
    assert json.loads(r.content)["errors"][0]["message"].startswith("Only queries")
    ok = client.get("/graphql", {"query": '{ user(username: "alice") { username } }'}, HTTP_ACCEPT="application/json")
    assert ok.status_code == 200 and json.loads(ok.content)["data"]["user"]["username"] == "alice"


def test_request_errors_have_codes(db):
    client = Client()
    post = lambda body: client.post("/graphql", body, content_type="application/json")  # noqa: E731
    parse = json.loads(post(json.dumps({"query": "{ users { "})).content)
    assert parse["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    invalid = json.loads(post(json.dumps({"query": "{ nope }"})).content)
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    bad_json = post("{not json")
    assert bad_json.status_code == 400
    assert json.loads(bad_json.content)["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_vars = json.loads(post(json.dumps({"query": "query($n: Int!) { users(first: $n) { edges { cursor } } }",
                                           "variables": {"n": "x"}})).content)
    assert bad_vars["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert client.put("/graphql").status_code == 405


def test_graphiql_page_served_to_browsers(db):
    r = Client().get("/graphql", HTTP_ACCEPT="text/html")
    assert r.status_code == 200
    assert b"graphiql" in r.content.lower()
    assert b"unpkg.com" not in r.content and b"cdn.jsdelivr" not in r.content
