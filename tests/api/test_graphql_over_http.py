"""GraphQL over HTTP: media types and statuses, caching, batching, the token trap."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client
from freezegun import freeze_time
from graphql_jwt.shortcuts import get_token
from graphql_relay import to_global_id

from schema.api import schema
from schema.core.execution import parse_and_validate
from tests.conftest import PASSWORD
from tests.support.http import GR, JSON, body, codes, fresh_apq_memory, get, post  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db


# --- media types and statuses ------------------------------------------------------------------
@pytest.mark.parametrize("accept, media", [
    (None, JSON),
    ("*/*", JSON),
    (JSON, JSON),
    (GR, GR),
    (f"{GR},{JSON};q=0.9", GR),  # Apollo Client 4, urql
    (f"{JSON}, {GR};q=0.5", JSON),
    (f"{GR};q=0, {JSON}", JSON),
    ("application/*", JSON),
])
def test_the_response_media_type_follows_accept(accept, media):
    response = post({"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 200 and response["Content-Type"] == media
    assert body(response) == {"data": {"__typename": "Query"}}


def test_an_unacceptable_accept_is_406_in_json():
    response = post({"query": "{ __typename }"}, accept="text/plain")
    assert response.status_code == 406 and response["Content-Type"] == JSON
    assert codes(body(response)) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("request_body, code", [
    ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "query ($n: Int!) { users(first: $n) { edges { cursor } } }", "variables": {"n": "x"}},
     "BAD_USER_INPUT"),
    ({"query": "query A { __typename } query B { __typename }"}, "BAD_USER_INPUT"),  # which operation?
    ({"query": "subscription { postDeleted }"}, "BAD_USER_INPUT"),  # over the websocket only
])
def test_graphql_request_errors_are_200_in_json_and_400_in_graphql_response_json(request_body, code):
    as_json = post(request_body, accept=JSON)
    assert as_json.status_code == 200 and as_json["Content-Type"] == JSON
    assert codes(body(as_json)) == [code] and "data" not in body(as_json)
    as_gr = post(request_body, accept=GR)
    assert as_gr.status_code == 400 and as_gr["Content-Type"] == GR
    assert codes(body(as_gr)) == [code] and "data" not in body(as_gr)


@pytest.mark.parametrize("request_body", [
    '{"query": "{ __typename }", "extensions": "x"}',
    '{"query": "{ __typename }", "extensions": 0}',
    '{"query": "{ __typename }", "extensions": false}',
    '{"query": "{ __typename }", "extensions": ["array"]}',
    '{"query": "{ __typename }", "variables": 0}',
    '{"qeury": "{ __typename }"}',
    '{ "not a JSON',
    "  ",
    "5",
])
@pytest.mark.parametrize("accept", [JSON, GR])
def test_malformed_requests_are_400_whatever_the_media_type(request_body, accept):
    response = post(request_body, accept=accept)
    assert response.status_code == 400 and response["Content-Type"] == accept
    assert codes(body(response)) == ["BAD_USER_INPUT"]


def test_a_post_that_is_not_json_is_415_and_json_in_another_charset_too():
    response = Client().post("/graphql", "{ __typename }", content_type="text/plain")
    assert response.status_code == 415 and response["Content-Type"] == JSON
    response = Client().post("/graphql", json.dumps({"query": "{ __typename }"}),
                             content_type="application/json; charset=latin-1")
    assert response.status_code == 415
    response = Client().post("/graphql", json.dumps({"query": "{ __typename }"}),
                             content_type="application/json; charset=UTF-8")
    assert response.status_code == 200


def test_mutations_over_get_are_405_with_allow_post():
    for accept in (JSON, GR):
        response = get({"query": "mutation { __typename }"}, accept=accept)
        assert response.status_code == 405 and response["Allow"] == "POST" and response["Content-Type"] == accept


def test_other_methods_are_405_with_a_content_type():
    response = Client().put("/graphql", "{}", content_type="application/json")
    assert response.status_code == 405 and response["Allow"] == "GET, POST" and response["Content-Type"] == JSON


def test_a_too_large_body_is_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post({"query": "{ __typename }", "variables": {"x": "y" * 2000}})
    assert response.status_code == 413 and codes(body(response)) == ["BAD_USER_INPUT"]


def test_execution_errors_keep_partial_data_with_200(alice):
    response = post({"query": '{ a: user(username: "alice") { username } b: node(id: "bogus") { id } }'}, accept=GR)
    payload = body(response)
    assert response.status_code == 200 and payload["data"]["a"] == {"username": "alice"}


def test_get_queries_with_variables_and_extensions():
    response = get({"query": "query T($n: String!) { __type(name: $n) { name } }", "variables": {"n": "Post"},
                    "extensions": {"some": "value"}}, accept=GR)
    assert response.status_code == 200 and body(response) == {"data": {"__type": {"name": "Post"}}}


# --- caching -----------------------------------------------------------------------------------------
def test_anonymous_get_queries_are_cacheable_by_url_and_the_rest_is_not(alice, settings):
    settings.GRAPHQL_GET_MAX_AGE = 30
    anonymous = get({"query": "{ users(first: 1) { edges { cursor } } }"})
    assert anonymous["Cache-Control"] == "public, max-age=30"
    assert "Accept" in anonymous["Vary"] and "Authorization" in anonymous["Vary"]
    authenticated = get({"query": "{ viewer { username } }"}, HTTP_AUTHORIZATION=f"Bearer {get_token(alice)}")
    assert body(authenticated)["data"]["viewer"]["username"] == "alice"
    assert authenticated["Cache-Control"] == "no-store"
    assert get({"query": "{ nope }"})["Cache-Control"] == "no-store"
    assert post({"query": "{ __typename }"})["Cache-Control"] == "no-store"
    settings.GRAPHQL_GET_MAX_AGE = 0
    assert get({"query": "{ __typename }"})["Cache-Control"] == "no-store"


# --- batching ------------------------------------------------------------------------------------
def test_a_batch_runs_each_operation_as_if_alone_in_order(alice, bob):
    from feed import services

    post_id = to_global_id("Post", services.post_create(author=alice, body="batch me").pk)
    count = {"query": "query C($id: ID!) { node(id: $id) { ... on Post { likeCount viewerHasLiked } } }",
             "variables": {"id": post_id}}
    like = {"query": "mutation L($id: ID!) { likePost(input: {postId: $id}) { errors { code } } }",
            "variables": {"id": post_id}}
    response = post([count, like, count, {"query": "{ nope }"}, "not an object", {"query": "{ __typename }"}],
                    accept=GR, token=get_token(bob))
    assert response.status_code == 200 and response["Content-Type"] == GR
    results = body(response)
    assert results[0] == {"data": {"node": {"likeCount": 0, "viewerHasLiked": False}}}
    assert results[1] == {"data": {"likePost": {"errors": []}}}
    # The third operation has loaders of its own: it sees the like.
    assert results[2] == {"data": {"node": {"likeCount": 1, "viewerHasLiked": True}}}
    assert codes(results[3]) == ["GRAPHQL_VALIDATION_FAILED"] and "data" not in results[3]
    assert codes(results[4]) == ["BAD_USER_INPUT"]
    assert results[5] == {"data": {"__typename": "Query"}}


def test_a_batch_is_capped(settings):
    settings.GRAPHQL_BATCH_MAX_OPERATIONS = 3
    assert post([{"query": "{ __typename }"}] * 3).status_code == 200
    response = post([{"query": "{ __typename }"}] * 4)
    assert response.status_code == 400 and "at most 3" in body(response)["errors"][0]["message"]
    assert post([]).status_code == 400


def test_a_batch_with_a_bad_token_still_logs_in(alice):
    login = {"query": "mutation ($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }",
             "variables": {"u": "alice", "p": PASSWORD}}
    viewer = {"query": "{ viewer { username } }"}
    response = post([login, viewer, viewer], authorization="Bearer forged")
    results = body(response)
    assert response.status_code == 200 and response["WWW-Authenticate"].startswith("Bearer")
    assert results[0]["data"]["tokenAuth"]["token"]
    assert codes(results[1]) == codes(results[2]) == ["UNAUTHENTICATED"]


def test_a_batch_checks_the_token_once(alice, monkeypatch):
    from schema.core import views

    calls = []
    real = views.authenticate
    monkeypatch.setattr(views, "authenticate", lambda header: calls.append(header) or real(header))
    results = body(post([{"query": "{ viewer { username } }"}] * 5, token=get_token(alice)))
    assert [r["data"]["viewer"]["username"] for r in results] == ["alice"] * 5
    assert len(calls) == 1


# --- the token trap ----------------------------------------------------------------------------
def _expired_token(user):
    with freeze_time(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)):
        return get_token(user)


TOKEN_AUTH = {"query": "mutation ($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }",
              "variables": {"u": "alice", "p": PASSWORD}}


@pytest.mark.parametrize("authorization", ["expired", "Bearer forged.token.here", "Basic abc", "Bearer"])
def test_a_stale_or_bad_header_never_blocks_token_auth(alice, authorization):
    header = f"Bearer {_expired_token(alice)}" if authorization == "expired" else authorization
    response = post(TOKEN_AUTH, accept=GR, authorization=header)
    assert response.status_code == 200, response.content
    assert body(response)["data"]["tokenAuth"]["token"]


def test_an_expired_header_does_not_block_refresh_verify_revoke_or_register(alice):
    from graphql_jwt.shortcuts import create_refresh_token

    stale = f"Bearer {_expired_token(alice)}"
    refresh = str(create_refresh_token(alice))
    response = post({"query": "mutation ($r: String!) { refreshToken(refreshToken: $r) { token refreshToken } }",
                     "variables": {"r": refresh}}, authorization=stale)
    renewed = body(response)["data"]["refreshToken"]
    assert response.status_code == 200 and renewed["token"]
    response = post({"query": "mutation ($t: String!) { verifyToken(token: $t) { payload } }",
                     "variables": {"t": renewed["token"]}}, authorization=stale)
    assert body(response)["data"]["verifyToken"]["payload"]["username"] == "alice"
    response = post({"query": "mutation ($r: String!) { revokeToken(refreshToken: $r) { revoked } }",
                     "variables": {"r": renewed["refreshToken"]}}, authorization=stale)
    assert body(response)["data"]["revokeToken"]["revoked"]
    response = post({"query": """mutation { register(input: {username: "newbie", email: "n@example.com",
                                  password: "another-long-passphrase", displayName: "N"}) { errors { code } } }"""},
                    authorization=stale)
    assert response.status_code == 200 and body(response)["data"]["register"]["errors"] == []


def test_introspection_is_answered_anonymously_whatever_the_header(alice):
    from graphql import get_introspection_query

    stale = f"Bearer {_expired_token(alice)}"
    response = post({"query": get_introspection_query(), "operationName": "IntrospectionQuery"},
                    accept=GR, authorization=stale)
    assert response.status_code == 200 and body(response)["data"]["__schema"]["queryType"]["name"] == "Query"


def test_anything_else_with_a_bad_header_is_401(alice):
    stale = f"Bearer {_expired_token(alice)}"
    for document in ("{ viewer { username } }", "{ __typename viewer { id } }",
                     'mutation { tokenAuth(username: "alice", password: "x") { token } '
                     'createPost(input: {body: "x"}) { errors { code } } }'):
        response = post({"query": document}, accept=GR, authorization=stale)
        assert response.status_code == 401 and codes(body(response)) == ["UNAUTHENTICATED"], document
        assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_token_documents_ignore_a_valid_header_too(alice, bob):
    # They need no viewer: logging in as bob while sending alice's token gives bob's token.
    response = post({"query": 'mutation { tokenAuth(username: "bob", password: "%s") { payload } }' % PASSWORD},
                    token=get_token(alice))
    assert body(response)["data"]["tokenAuth"]["payload"]["username"] == "bob"


def test_root_fields_through_fragments_count():
    document = parse_and_validate(
        schema,
        "mutation M { ...F } fragment F on Mutation { ... on Mutation { verifyToken(token: \"x\") { payload } } }")
    from schema.core.execution import root_field_names
    from graphql import get_operation_ast

    assert root_field_names(document, get_operation_ast(document, None)) == {"verifyToken"}


