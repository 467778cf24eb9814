"""Hostile and odd input gets a clear error with a code — never a 500 — and stores nothing."""

import json

import pytest
from graphql_relay import to_global_id

from feed.models import Post
from users.models import User

from tests.conftest import make_user

NUL = "a\u0000b"
SURROGATE = "a\ud800b"  # what the JSON escape "\ud800" decodes to: a lone surrogate, which psycopg cannot encode

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


# A lone surrogate cannot be written in a GraphQL literal at all (test_lone_surrogate_literals_do_not_parse).
UNSTORABLE = [pytest.param(name, NUL, id=f"{name}-NUL") for name in CASES] + [
    pytest.param(name, SURROGATE, id=f"{name}-surrogate") for name in CASES if CASES[name][1] is not None]


@pytest.mark.parametrize("name, bad", UNSTORABLE)
def test_unstorable_text_is_bad_user_input(gql, name, bad):
    """D1: NUL or a lone surrogate anywhere in the variables is refused before any resolver runs."""
    user = make_user("prober")
    query, variables = CASES[name]
    if variables is not None:
        variables = json.loads(json.dumps(variables).replace("\\u0000", json.dumps(bad)[2:-2]))
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


@pytest.mark.parametrize("literal", ['"\\ud800"', '"a\\udfffb"'])
def test_lone_surrogate_literals_do_not_parse(gql, literal):
    """A "\\ud800" escape in a GraphQL string literal is a syntax error (the spec's rule): a 4xx, never a 500."""
    r = gql(f"{{ user(username: {literal}) {{ id }} }}")
    assert r.status == 400 and r.error_codes() in (["GRAPHQL_PARSE_FAILED"], ["BAD_USER_INPUT"]), r.body


def test_surrogate_pairs_are_ordinary_text(gql):
    user = make_user("emoji")
    r = gql('mutation($b: String!) { createPost(input: {body: $b}) { post { body } errors { code } } }',
            {"b": "hi \U0001F600"}, user=user)
    assert r.data["createPost"] == {"post": {"body": "hi \U0001F600"}, "errors": []}


def test_unstorable_text_deep_in_variables_is_bad_user_input(gql):
    nested: list = ["\ud800"]
    for _ in range(500):  # deeper than Python's json encoder of the test client goes
        nested = [nested]
    r = gql("query($u: String!) { user(username: $u) { id } }", {"u": "x", "junk": nested})
    assert r.error_codes() == ["BAD_USER_INPUT"], r.body


# --- D2: searches are capped before PostgreSQL parses them --------------------------------------------------
@pytest.mark.parametrize("search", [
    " or ".join(["word"] * 20_000),                # "stack depth limit exceeded" in PostgreSQL before
    "x" * 2_400_000,                               # "value is too big in tsquery" after 12.6 s before
    "a " * 200,                                    # 200 terms, 400 characters
])
@pytest.mark.parametrize("query", [
    "query($s: String) { posts(filter: {search: $s}) { edges { node { id } } } }",
    'query($s: String) { posts(filter: {search: $s, hashtag: "tag"}) { edges { node { id } } } }',
    "query($s: String) { users(search: $s) { edges { node { id } } } }",
])
def test_huge_searches_are_bad_user_input_and_never_logged_whole(gql, caplog, query, search):
    make_user("someone")
    r = gql(query, {"s": search})
    assert r.status == 200 and r.error_codes() == ["BAD_USER_INPUT"], r.body
    assert "at most" in r.errors[0]["message"] and len(r.errors[0]["message"]) < 200
    assert all(len(record.getMessage()) < 10_000 for record in caplog.records)


def test_searches_within_the_caps_run(gql, settings):
    from feed import services

    services.post_create(author=make_user("writer"), body="gardening tips for spring")
    words = " ".join(["gardening"] + ["spring"] * (settings.SEARCH_MAX_TERMS - 1))
    r = gql("query($s: String) { posts(filter: {search: $s}) { edges { node { body } } } }", {"s": words})
    assert r.data["posts"]["edges"] == [{"node": {"body": "gardening tips for spring"}}], r.body
    settings.SEARCH_MAX_TERMS = 2
    r = gql("query($s: String) { posts(filter: {search: $s}) { edges { node { body } } } }", {"s": "a b c"})
    assert r.error_codes() == ["BAD_USER_INPUT"] and "at most 2 words" in r.errors[0]["message"]


# --- D3: cursors holding deeply nested JSON ---------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"[" * 100_000, b"[" * 400 + b"]" * 400, b'[{"t": [[[[[]]]]]}, 1]'])
def test_nested_json_cursors_are_bad_user_input(gql, raw):
    import base64

    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for query in ("query($a: String) { posts(after: $a) { edges { node { id } } } }",
                  "query($a: String) { users(before: $a) { edges { node { id } } } }"):
        r = gql(query, {"a": cursor})
        assert r.error_codes() == ["BAD_USER_INPUT"], r.body
        assert r.errors[0]["extensions"]["argument"] in ("after", "before")


# --- D4: out-of-range times, and any failing loader batch --------------------------------------------------
@pytest.mark.parametrize("args", ['until: "9999-12-31T23:59:59-14:00"', 'since: "0001-01-01T00:00:00+14:00"'])
def test_timeline_out_of_range_is_bad_user_input(gql, args):
    user = make_user("analyst")
    r = gql(f"{{ viewer {{ analytics {{ timeline(bucket: DAY, {args}) {{ start }} }} }} }}", user=user)
    assert r.status == 200 and r.error_codes() == ["BAD_USER_INPUT"], r.body
    assert "out of range" in r.errors[0]["message"]


def test_a_failing_loader_batch_is_a_field_error_and_the_rest_stands(gql, monkeypatch, caplog):
    from schema.users.loaders import ViewerFollows

    alice, bob = make_user("alice"), make_user("bob")

    def broken(self, keys):
        raise ValueError("year 10000 is out of range")

    monkeypatch.setattr(ViewerFollows, "batch", broken)
    from users.services import follow_create

    follow_create(follower=bob, followee=alice)
    r = gql('{ a: user(username: "alice") { username viewerIsFollowing } b: user(username: "bob") { username } '
            'c: user(username: "bob") { following(first: 5) { edges { node { username viewerIsFollowing } } } } }',
            user=bob)
    assert r.status == 200, r.body
    # viewerIsFollowing is Boolean!: its null goes up to the nearest nullable field (a, c), as the spec says.
    assert r.data == {"a": None, "b": {"username": "bob"}, "c": None}, r.body
    assert sorted(e["path"][0] for e in r.errors) == ["a", "c"]
    assert r.errors[0]["path"][-1] == "viewerIsFollowing"
    assert set(r.error_codes()) == {"INTERNAL_SERVER_ERROR"}
    assert all(e["extensions"].get("requestId") for e in r.errors)
    logged = [rec for rec in caplog.records if rec.name == "schema.errors" and rec.levelname == "ERROR"]
    assert len(logged) == 1  # one batch failed: one traceback, however many fields it failed


def test_an_api_error_in_a_loader_batch_keeps_its_code(gql, monkeypatch):
    from schema.core.errors import BadUserInput
    from schema.users.loaders import ViewerFollows

    make_user("alice")

    def refusing(self, keys):
        raise BadUserInput("not today")

    monkeypatch.setattr(ViewerFollows, "batch", refusing)
    r = gql('{ user(username: "alice") { viewerIsFollowing } }', user=make_user("bob"))
    assert r.status == 200 and r.data == {"user": None} and r.error_codes() == ["BAD_USER_INPUT"], r.body


# --- a body of only invisible characters is blank ----------------------------------------------------------
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff \t\n\u00a0\u3000"


@pytest.mark.parametrize("mutation, field", [
    ('mutation($b: String!) { createPost(input: {body: $b}) { post { id } errors { field code } } }', "createPost"),
    ('mutation($b: String!, $p: ID!) { createComment(input: {postId: $p, body: $b}) { comment { id } '
     'errors { field code } } }', "createComment"),
])
def test_invisible_only_bodies_are_required(gql, mutation, field):
    user = make_user("ghost")
    post = Post.objects.create(author=user, body="x")
    r = gql(mutation, {"b": INVISIBLE, "p": to_global_id("Post", post.pk)}, user=user)
    assert r.data[field]["errors"] == [{"field": "body", "code": "REQUIRED"}], r.body
    assert Post.objects.count() == 1


def test_invisible_characters_are_trimmed_from_the_ends_only(gql):
    user = make_user("writer")
    r = gql('mutation($b: String!) { createPost(input: {body: $b}) { post { body } errors { code } } }',
            {"b": "\u200b\ufeff a\u200db \u2060"}, user=user)
    assert r.data["createPost"] == {"post": {"body": "a\u200db"}, "errors": []}
