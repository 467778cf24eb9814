"""The compiled execution path (schema/core/compiled.py) answers exactly as graphql-core's does.

Every document runs through /graphql (the full view) with GRAPHQL_COMPILED_EXECUTION off, on, off, on: the
bodies (data and formatted errors: message, path, locations, extensions, in order) and statuses must be
identical, and so must the SQL statements each path runs (the loaders batch the same way). Two sources of
documents: a corpus covering the schema's queries and the tricky parts of execution (fragments, inline
fragments on the Node interface, aliases, @skip/@include with literals and variables, variables with
defaults, errors in nullable and non-null positions, __typename), and hypothesis-graphql documents drawn from
the query type, with random aliases and @skip/@include directives added.
"""

from __future__ import annotations

import json
import os

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from graphql import (ArgumentNode, BooleanValueNode, DirectiveNode, FieldNode, IntValueNode, NameNode, NamedTypeNode,
                     NonNullTypeNode, OperationDefinitionNode, VariableDefinitionNode, VariableNode, Visitor,
                     get_operation_ast, parse, print_ast, visit)
from graphql_jwt.shortcuts import get_token
from graphql_relay import to_global_id
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from hypothesis_graphql import from_schema, nodes

from feed import services as feed_services
from interactions.services import comments as comment_services, reactions
from schema.api import schema as served_schema
from schema.core.compiled import OperationPlan
from schema.core.execution import graphql_schema, parse_and_validate
from users import services as user_services
from users.models import User

SCHEMA = graphql_schema(served_schema)
ACCEPT = "application/graphql-response+json, application/json;q=0.9"


@pytest.fixture
def world(db):
    """Three users following each other, posts with mentions and hashtags, comments with replies, likes,
    shares, bookmarks and the notifications they make."""
    alice, bob, carol = (User.objects.create(username=name, email=f"{name}@example.com", password="!",
                                             display_name=name.title())
                         for name in ("alice", "bob", "carol"))
    user_services.follow_create(follower=alice, followee=bob)
    user_services.follow_create(follower=alice, followee=carol)
    user_services.follow_create(follower=bob, followee=alice)
    posts = []
    for i in range(6):
        author = (alice, bob, carol)[i % 3]
        posts.append(feed_services.post_create(author=author, body=f"post {i} #tag{i % 2} @alice @bob"))
    for i, post in enumerate(posts):
        for j, who in enumerate((alice, bob, carol)[: i % 3 + 1]):
            top = comment_services.comment_create(author=who, post_id=post.id, body=f"comment {j} on {i} @carol")
            if j == 0:
                comment_services.comment_create(author=carol, post_id=post.id, body="a reply", parent_id=top.id)
        if i % 2:
            reactions.like_create(user=alice, post_id=post.id)
            reactions.bookmark_create(user=alice, post_id=post.id)
        reactions.like_create(user=bob, post_id=post.id)
        if i % 3 == 1:
            reactions.share_create(user=carol, post_id=post.id, comment="look")
    return {"anonymous": None, "alice": get_token(alice), "bob": get_token(bob),
            "ids": {"post": to_global_id("Post", posts[1].id), "user": to_global_id("User", bob.id),
                    "missing": to_global_id("Post", 10**9)}}


def _run(client: Client, token, query: str, variables: dict | None, compiled: bool, django_settings):
    django_settings.GRAPHQL_COMPILED_EXECUTION = compiled
    headers = {"HTTP_ACCEPT": ACCEPT}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/graphql", json.dumps({"query": query, "variables": variables or {}}),
                               content_type="application/json", **headers)
    body = json.loads(response.content or b"{}")
    for error in body.get("errors") or []:
        (error.get("extensions") or {}).pop("requestId", None)  # one per request
    statements = [q["sql"] for q in queries.captured_queries]
    return response.status_code, body, statements


def assert_same(token, query: str, variables: dict | None, django_settings) -> dict:
    """Runs the document off, on, off, on; returns the body (asserting all four and their SQL agree)."""
    client = Client()
    runs = [_run(client, token, query, variables, compiled, django_settings) for compiled in (False, True) * 2]
    shown = json.dumps({"query": query, "variables": variables})[:3000]
    (status, body, _), *others = runs
    for other_status, other_body, _ in others:
        assert (other_status, other_body) == (status, body), shown
    # The second pair (both after the first run's warm-ups, e.g. the viewer's session): the same SQL, in order.
    assert runs[3][2] == runs[2][2], shown
    return body


def compiled_plans(query: str, operation_name: str | None = None) -> list:
    document = parse_and_validate(served_schema, query)
    operation = get_operation_ast(document, operation_name)
    entry = getattr(operation, "_compiled_plans", None)
    return [] if entry is None else [p for p in entry.plans.values() if isinstance(p, OperationPlan)]


POST_FIELDS = """
  id body createdAt updatedAt editedAt hashtags likeCount commentCount shareCount viewCount
  author { id username displayName avatarUrl viewerIsFollowing isFollowingViewer }
  mentions { username }
  viewerHasLiked viewerHasShared viewerHasBookmarked viewerCanUpdate viewerCanDelete
"""

CORPUS: list[tuple[str, str, dict | None]] = [
    ("newest posts", (__import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "bench"
                      / "newest_posts.graphql").read_text(), {"first": 5}),
    ("feed page", (__import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "bench"
                   / "feed_page.graphql").read_text(), {"first": 4}),
    ("posts, all fields", "{ posts(first: 10) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor "
                          "endCursor } edges { cursor node {" + POST_FIELDS + "} } } }", None),
    ("posts filtered and ordered",
     """query ($tag: String, $dir: OrderDirection = ASC) {
          posts(first: 3, filter: {hashtag: $tag}, orderBy: {field: LIKE_COUNT, direction: $dir}) {
            edges { node { id likeCount hashtags } } } }""", {"tag": "tag1"}),
    ("posts backwards", "{ posts(last: 2) { pageInfo { hasNextPage hasPreviousPage } edges { node { id } } } }",
     None),
    ("comments with replies",
     """{ posts(first: 6) { edges { node { id comments(first: 5) { totalCount edges { cursor node {
          id body createdAt editedAt replyCount viewerCanUpdate viewerCanDelete author { username }
          post { id } parent { id }
          replies(first: 3) { totalCount edges { node { id body parent { id body } author { username } } } }
        } } } } } } }""", None),
    ("likes and shares",
     """{ posts(first: 6) { edges { node { likes(first: 3) { totalCount edges { node { id createdAt
          user { username } post { id } } } } shares(first: 2) { totalCount edges { node { id comment
          user { username } } } } } } } }""", None),
    ("viewer, followers and following",
     """{ viewer { id username email bio dateJoined followerCount followingCount postCount
          followers(first: 5) { totalCount edges { node { username viewerIsFollowing isFollowingViewer } } }
          following(first: 5) { edges { cursor node { username followers(first: 2) { edges { node { username
          } } } } } }
          posts(first: 2) { edges { node { id body } } } } }""", None),
    ("user by name, with analytics", """query ($name: String!) { user(username: $name) { username
          analytics { viewsReceived likesReceived commentsReceived sharesReceived topPosts(first: 2) { id } } } }""",
     {"name": "alice"}),
    ("user missing", '{ user(username: "nobody") { username } }', None),
    ("users search", '{ users(search: "a", first: 5) { totalCount edges { node { username postCount } } } }', None),
    ("notifications", """{ unreadNotificationCount notifications(first: 20) { pageInfo { hasNextPage endCursor }
          edges { cursor node { id createdAt kind read readAt actor { username } post { id body }
          comment { id body } } } } }""", None),
    ("notifications unread only", "{ notifications(unreadOnly: true, last: 3) { edges { node { kind } } } }", None),
    ("bookmarks", "{ bookmarks(first: 5) { totalCount edges { node { id viewerHasBookmarked } } } }", None),
    ("node by id, inline fragments", """query ($id: ID!) { node(id: $id) { __typename id
          ... on Post { body author { username } }
          ... on User { username }
          ... on Comment { body } } }""", "post"),
    ("node of a user", """query ($id: ID!) { node(id: $id) { id ... on User { username followerCount } } }""",
     "user"),
    ("node missing", """query ($id: ID!) { node(id: $id) { id } }""", "missing"),
    ("node invalid id", '{ node(id: "not-a-global-id") { id } }', None),
    ("nodes, some missing", """query ($a: ID!, $b: ID!, $c: ID!) { nodes(ids: [$a, $b, $c, "garbage"]) {
          __typename id ... on Post { likeCount } ... on User { username } } }""", "nodes"),
    ("named fragments on interface and object",
     """query Page($first: Int = 3) { posts(first: $first) { edges { node { ...PostBits author { ...Who } } } }
          viewer { ...Who ...NodeBits } }
        fragment PostBits on Post { id likeCount ...NodeBits comments(first: 2) { edges { node { ...NodeBits
          author { ...Who } } } } }
        fragment NodeBits on Node { __typename id }
        fragment Who on User { username displayName }""", None),
    ("aliases and merged fields",
     """{ a: posts(first: 2) { edges { node { id x: body y: body author { username } author { id } } } }
          b: posts(first: 1, orderBy: {field: CREATED_AT, direction: ASC}) { edges { node { id } } }
          me: viewer { name: username } }""", None),
    ("skip and include, literal and variable",
     """query ($withAuthor: Boolean!, $skipCounts: Boolean = false) {
          posts(first: 3) { edges { node { id
            author @include(if: $withAuthor) { username }
            likeCount @skip(if: $skipCounts) commentCount @skip(if: true) shareCount @include(if: false)
            ... on Post @include(if: $withAuthor) { body }
            ...Counts @skip(if: $skipCounts) } } } }
        fragment Counts on Post { viewCount }""", {"withAuthor": True}),
    ("skip and include, the other way",
     """query ($withAuthor: Boolean!, $skipCounts: Boolean = false) {
          posts(first: 3) { edges { node { id
            author @include(if: $withAuthor) { username }
            likeCount @skip(if: $skipCounts) commentCount @skip(if: true) shareCount @include(if: false)
            ... on Post @include(if: $withAuthor) { body }
            ...Counts @skip(if: $skipCounts) } } } }
        fragment Counts on Post { viewCount }""", {"withAuthor": False, "skipCounts": True}),
    ("typename everywhere", "{ __typename posts(first: 2) { __typename edges { __typename node { __typename "
                            "author { __typename } } } pageInfo { __typename } } }", None),
    ("trending", "{ trendingPosts(first: 3, window: DAY) { id } trendingHashtags(first: 3) { tag postCount } }",
     None),
    ("post by id", """query ($id: ID!) { post(id: $id) { id body analytics { viewCount uniqueViewerCount likeCount
          commentCount shareCount engagementRate timeline(bucket: DAY, since: "2020-01-01T00:00:00Z") {
          start views likes comments shares } } } }""", "post"),
    # Errors: nullable positions keep the rest; non-null ones null their parent, up to the root.
    ("error: non-null root field", "{ posts(first: 1000) { edges { node { id } } } }", None),
    ("error: non-null field under a nullable one", "{ viewer { username posts(first: -1) { totalCount } } }",
     None),
    ("error: in every item of a list", "{ posts(first: 3) { edges { node { id comments(first: 500) { totalCount }"
                                       " } } } }", None),
    ("error: a bad cursor", '{ posts(first: 2, after: "bad cursor") { edges { node { id } } } }', None),
    ("error: a bad variable value for an argument", """query ($first: Int) { posts(first: $first) { totalCount } }""",
     {"first": -5}),
    ("error: missing variable", """query ($n: String!) { user(username: $n) { id } }""", {}),
    ("error and data side by side", """{ viewer { username } bad: posts(first: 101) { totalCount }
          good: posts(first: 1) { totalCount } }""", None),
    ("nested error in nullable field", """{ posts(first: 2) { edges { node { id analytics { timeline(bucket: HOUR,
          since: "1999-01-01T00:00:00Z") { start } } } } } }""", None),
]


def _variables(spec, world):
    if spec == "post":
        return {"id": world["ids"]["post"]}
    if spec == "user":
        return {"id": world["ids"]["user"]}
    if spec == "missing":
        return {"id": world["ids"]["missing"]}
    if spec == "nodes":
        return {"a": world["ids"]["post"], "b": world["ids"]["missing"], "c": world["ids"]["user"]}
    return spec


@pytest.mark.parametrize("who", ["alice", "anonymous"])
@pytest.mark.parametrize("name, query, variables", [pytest.param(*c, id=c[0]) for c in CORPUS])
def test_corpus_documents_answer_the_same(world, settings, who, name, query, variables):
    body = assert_same(world[who], query, _variables(variables, world), settings)
    # The compiled path did run (not its fallback) when the document ran, and the corpus reaches real data.
    if "data" in body:
        assert compiled_plans(query), name
    if not name.startswith("error") and who == "alice" and name not in ("user missing", "node missing",
                                                                        "node invalid id"):
        assert body.get("data") and not body.get("errors"), body


def test_errors_come_out_the_same_in_both_paths(world, settings):
    """The error documents do produce errors (and with paths), so the comparison above covers them."""
    for name, query, variables in CORPUS:
        if name.startswith("error"):
            body = assert_same(world["alice"], query, _variables(variables, world), settings)
            assert body.get("errors"), name
    body = assert_same(world["alice"], dict((c[0], c[1]) for c in CORPUS)["error: in every item of a list"], None,
                       settings)
    assert body["data"] is None and body["errors"][0]["path"][:3] == ["posts", "edges", 0], body


def test_what_the_compiler_does_not_cover_runs_graphql_core(world, settings):
    introspection = "{ __schema { queryType { name } } posts(first: 1) { totalCount } }"
    type_query = '{ __type(name: "Post") { name fields { name } } }'
    mutation = 'mutation { likePost(input: {postId: "%s"}) { errors { message } } }' % world["ids"]["missing"]
    for query in (introspection, type_query):
        body = assert_same(world["alice"], query, None, settings)
        assert body["data"], body
        assert not compiled_plans(query)
    settings.GRAPHQL_COMPILED_EXECUTION = True
    Client().post("/graphql", json.dumps({"query": mutation}), content_type="application/json",
                  HTTP_AUTHORIZATION=f"Bearer {world['alice']}", HTTP_ACCEPT=ACCEPT)
    assert not compiled_plans(mutation)


def test_one_plan_per_document_and_skip_include_variables(world, settings):
    # its own text: the document cache (and so the plans) outlive a test
    query = dict((c[0], c[1]) for c in CORPUS)["skip and include, literal and variable"] + "\n# plans"
    for variables in ({"withAuthor": True}, {"withAuthor": True, "skipCounts": False},
                      {"withAuthor": False}, {"withAuthor": True}):
        assert_same(world["alice"], query, variables, settings)
    # (True, default False) and (True, False) are the same values: two plans in all
    assert len(compiled_plans(query)) == 2


# --- generated documents --------------------------------------------------------------------------------------
hypothesis_settings.register_profile(
    "differential",
    max_examples=int(os.environ.get("DIFFERENTIAL_EXAMPLES", "50")),
    deadline=None,
    derandomize=True,  # the same documents every run: a failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
DATETIMES = st.sampled_from(["2024-01-01T00:00:00Z", "2020-06-01T12:00:00+02:00", "not a date"]).map(nodes.String)
QUERY_FIELDS = [name for name in SCHEMA.query_type.fields if name != "rateLimit"]  # rateLimit: spent per request
DOCUMENTS = from_schema(SCHEMA, fields=QUERY_FIELDS, custom_scalars={"DateTime": DATETIMES})


def _decorate(query: str, draw) -> tuple[str, dict]:
    """``query`` with random aliases and @skip/@include directives (literal or variable conditions), and pages
    of a few items (generated arguments mostly fail at the root field: this one reaches data)."""
    document = parse(query)
    counter = [0]
    used: dict[str, bool] = {}

    class Decorate(Visitor):
        def enter_argument(self, node: ArgumentNode, *_):
            if node.name.value in ("last", "before", "after", "filter", "unreadOnly"):
                return self.REMOVE
            if node.name.value == "first":
                return ArgumentNode(name=node.name, value=IntValueNode(value=str(draw(st.integers(0, 4)))))
            return None

        def enter_field(self, node: FieldNode, *_):
            choice = draw(st.integers(0, 7))
            alias, directives = node.alias, tuple(node.directives or ())
            if choice == 0:
                counter[0] += 1
                alias = NameNode(value=f"alias{counter[0]}")
            elif choice in (1, 2):
                name = "skip" if choice == 1 else "include"
                if draw(st.booleans()):
                    variable = f"{name}{len(used)}"
                    used[variable] = draw(st.booleans())
                    value = VariableNode(name=NameNode(value=variable))
                else:
                    value = BooleanValueNode(value=draw(st.booleans()))
                directives += (DirectiveNode(name=NameNode(value=name),
                                             arguments=(ArgumentNode(name=NameNode(value="if"), value=value),)),)
            else:
                return None
            return FieldNode(alias=alias, name=node.name, arguments=node.arguments, directives=directives,
                             selection_set=node.selection_set)

    document = visit(document, Decorate())
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            definition.variable_definitions = tuple(
                VariableDefinitionNode(variable=VariableNode(name=NameNode(value=name)),
                                       type=NonNullTypeNode(type=NamedTypeNode(name=NameNode(value="Boolean"))),
                                       directives=())
                for name in used)
    return print_ast(document), dict(used)


@pytest.mark.parametrize("who", ["alice", "anonymous"])
@hypothesis_settings(hypothesis_settings.get_profile("differential"))
@given(data=st.data())
def test_generated_documents_answer_the_same(world, settings, who, data):
    query = data.draw(DOCUMENTS, label="query")
    decorated, variables = _decorate(query, data.draw)
    for document, values in ((query, None), (decorated, variables)):
        body = assert_same(world[who], document, values, settings)
        if body.get("data") is not None or not body.get("errors"):
            assert compiled_plans(document), document  # it ran, and through the compiled path


# --- failures inside loader batches and resolvers ---------------------------------------------------------------
FAILING = """{ a: user(username: "alice") { username viewerIsFollowing } b: user(username: "bob") { username }
  c: user(username: "bob") { following(first: 5) { edges { node { username viewerIsFollowing } } } }
  feed(first: 5) { edges { node { id author { username isFollowingViewer } mentions { username }
    comments(first: 2) { edges { node { id author { username } } } } } } }
  posts(first: 4) { edges { node { id viewerHasLiked author { username } } } } }"""


@pytest.mark.parametrize("broken", ["ViewerFollows", "MentionedUsers", "FollowsViewer", "ViewerPostFlags",
                                    "an api error", "one item"])
def test_failing_loader_batches_answer_the_same(world, settings, monkeypatch, broken):
    """Errors reaching the executor through futures (a batch that raises, an error value for one key): null
    up to the nearest nullable field, the same errors at the same paths, in both paths."""
    from schema.core.errors import BadUserInput
    from schema.feed.loaders import MentionedUsers
    from schema.interactions.loaders import ViewerPostFlags
    from schema.users.loaders import FollowsViewer, ViewerFollows

    loaders = {"ViewerFollows": ViewerFollows, "MentionedUsers": MentionedUsers, "FollowsViewer": FollowsViewer,
               "ViewerPostFlags": ViewerPostFlags}
    if broken == "an api error":
        def batch(self, keys):
            raise BadUserInput("no such thing")
        monkeypatch.setattr(ViewerFollows, "batch", batch)
    elif broken == "one item":
        original = FollowsViewer.batch

        def batch(self, keys):  # the first key's value is an error: only its field fails
            values = list(original(self, keys))
            return [ValueError("this one")] + values[1:]
        monkeypatch.setattr(FollowsViewer, "batch", batch)
    else:
        def batch(self, keys):
            raise ValueError("year 10000 is out of range")
        monkeypatch.setattr(loaders[broken], "batch", batch)
    body = assert_same(world["alice"], FAILING, None, settings)
    assert body.get("errors") and all(e.get("path") for e in body["errors"]), body
    assert compiled_plans(FAILING)


def test_a_resolver_returning_null_for_a_non_null_field_answers_the_same(world, settings, monkeypatch):
    field = SCHEMA.get_type("User").fields["displayName"]
    original = field.resolve
    # (a plan binds resolvers when it is built: this document's text is its own, planned after the patch)
    monkeypatch.setattr(field, "resolve", lambda user, info: None if user.username == "bob"
                        else original(user, info))
    query = """{ viewer { username following(first: 5) { edges { node { username displayName } } } }
      bob: user(username: "bob") { displayName } carol: user(username: "carol") { displayName } }"""
    body = assert_same(world["alice"], query, None, settings)
    assert body["data"]["carol"] == {"displayName": "Carol"} and body["data"]["bob"] is None, body
    assert body["data"]["viewer"] is None, body  # bob is in the list of Edge! / User!: up to viewer
    assert compiled_plans(query)
