"""Hostile and odd input gets a clear error with a code — never a 500 — and stores nothing."""

import pytest
from graphql_relay import to_global_id

from feed.models import Post
from users.models import User

from tests.conftest import make_user

NUL = "a\u0000b"

CASES = {
    "post body with NUL": ('mutation($b: String!) { createPost(input: {body: $b}) { post { id } errors { code } } }',
                           {"b": NUL}),
    "NUL in a literal": ('mutation { createPost(input: {body: "a\\u0000b"}) { post { id } errors { code } } }', None),
    "comment with NUL": ('mutation($b: String!, $p: ID!) { createComment(input: {postId: $p, body: $b}) '
                         '{ comment { id } errors { code } } }', {"b": NUL, "p": "POST"}),
    "share comment with NUL": ('mutation($b: String!, $p: ID!) { sharePost(input: {postId: $p, comment: $b}) '
                               '{ share { id } errors { code } } }', {"b": NUL, "p": "POST"}),
    "profile with NUL": ('mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { user { id } errors { code } } }',
                         {"i": {"bio": NUL}}),
    "register with NUL": ('mutation($i: RegisterInput!) { register(input: $i) { user { id } errors { code } } }',
                          {"i": {"username": "abc", "email": "a@b.com", "password": NUL * 8}}),
    "login with NUL": ('mutation($u: String!) { tokenAuth(username: $u, password: "x") { token } }', {"u": NUL}),
    "search with NUL": ('query($s: String!) { posts(filter: {search: $s}) { edges { node { id } } } }', {"s": NUL}),
    "user search with NUL": ('query($s: String!) { users(search: $s) { edges { node { id } } } }', {"s": NUL}),
    "username with NUL": ('query($s: String!) { user(username: $s) { id } }', {"s": NUL}),
}


@pytest.mark.parametrize("name", CASES)
def test_nul_characters_are_bad_user_input(gql, name):
    user = make_user("prober")
    query, variables = CASES[name]
    if variables and variables.get("p") == "POST":
        variables["p"] = to_global_id("Post", Post.objects.create(author=user, body="x").pk)
    posts, users = Post.objects.count(), User.objects.count()
    r = gql(query, variables, user=user)
    assert r.error_codes() == ["BAD_USER_INPUT"], r.body
    assert "NUL" in r.errors[0]["message"]
    assert (Post.objects.count(), User.objects.count()) == (posts, users)


@pytest.mark.parametrize("query", [
    '{ posts(filter: {createdAfter: "9999-12-31T23:59:59Z"}) { edges { node { id } } } }',
    '{ posts(filter: {createdBefore: "0001-01-01T00:00:00Z"}) { edges { node { id } } } }',
    '{ posts(first: 2, filter: {search: "!!! ((( & | :* <-> \\\\"}) { edges { node { id } } } }',
    '{ posts(filter: {hashtag: "###"}) { edges { node { id } } } }',
    '{ posts(filter: {authorUsername: "' + "x" * 5000 + '"}) { edges { node { id } } } }',
    '{ posts(filter: {author: "VXNlcjp4"}) { edges { node { id } } } }',
    '{ users(search: "%_\\\\") { edges { node { id } } } }',
    '{ post(id: "UG9zdDo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5") { id } }',
    '{ node(id: "") { id } nodes(ids: ["", "=", "UG9zdDotMQ=="]) { id } }',
    '{ trendingPosts(first: 1000) { id } }',
    '{ posts(after: "' + "A" * 3000 + '") { edges { node { id } } } }',
])
def test_odd_queries_never_fail_with_500(gql, query):
    make_user("someone")
    r = gql(query)
    assert r.status < 500
    assert "INTERNAL_SERVER_ERROR" not in r.error_codes(), r.body


def test_oversized_post_is_too_long_and_stores_nothing(gql):
    user = make_user("writer")
    r = gql('mutation($b: String!) { createPost(input: {body: $b}) { post { id } errors { field code } } }',
            {"b": "x" * 100_000}, user=user)
    assert r.data["createPost"] == {"post": None, "errors": [{"field": "body", "code": "TOO_LONG"}]}
    assert not Post.objects.exists()
