"""GraphQL over HTTP in full: media types and statuses, batching, persisted documents, the token trap,
CORS for HTTP and websockets alike, X-Request-ID everywhere."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client
from freezegun import freeze_time
from graphql_jwt.shortcuts import get_token
from graphql_relay import to_global_id

from schema.core import persisted
from schema.api import schema
from schema.core.execution import _parse_and_validate, parse_and_validate
from tests.conftest import PASSWORD
from tests.support.websockets import anyio_backend, sockets  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

GR = "application/graphql-response+json"
JSON = "application/json"


def post(body, *, accept: str | None = None, token: str | None = None, authorization: str | None = None,
         client: Client | None = None):
    headers = {}
    if accept is not None:
        headers["HTTP_ACCEPT"] = accept
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    text = body if isinstance(body, str) else json.dumps(body)
    return (client or Client()).post("/graphql", text, content_type="application/json", **headers)


def get(params: dict, *, accept: str = JSON, **headers):
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return Client().get("/graphql", encoded, HTTP_ACCEPT=accept, **headers)


def body(response):
    return json.loads(response.content)


def codes(payload: dict) -> list:
    return [e.get("extensions", {}).get("code") for e in payload.get("errors") or []]


@pytest.fixture(autouse=True)
def _fresh_apq_memory():
    persisted.apq_store.clear_memory()
    yield
    persisted.apq_store.clear_memory()


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


# --- persisted documents: APQ -----------------------------------------------------------------
USERS = "query Users { users(first: 2) { edges { node { username } } } }"


def apq(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def test_apq_not_found_then_registered_then_by_hash_alone(alice):
    digest = persisted.sha256(USERS)
    miss = post({"extensions": apq(digest)}, accept=JSON)
    assert miss.status_code == 200 and codes(body(miss)) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert body(miss)["errors"][0]["message"] == "PersistedQueryNotFound"
    assert post({"extensions": apq(digest)}, accept=GR).status_code == 400

    registered = post({"query": USERS, "extensions": apq(digest)})
    assert body(registered)["data"]["users"]["edges"][0]["node"]["username"] == "alice"

    persisted.apq_store.clear_memory()  # another process: the text comes from Redis
    hit = get({"extensions": apq(digest)})
    assert hit.status_code == 200 and body(hit) == body(registered)
    assert hit["Cache-Control"].startswith("public, max-age=")


def test_apq_skips_parse_and_validation_for_known_hashes():
    digest = persisted.sha256(USERS)
    post({"query": USERS, "extensions": apq(digest)})
    before = _parse_and_validate.cache_info()
    for _ in range(3):
        assert body(post({"extensions": apq(digest)}))["data"] is not None
    after = _parse_and_validate.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 3


def test_apq_refuses_a_text_under_another_hash_and_invalid_documents_are_not_stored():
    digest = persisted.sha256(USERS)
    response = post({"query": "{ __typename }", "extensions": apq(digest)}, accept=GR)
    assert response.status_code == 400 and codes(body(response)) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    invalid = "{ nope }"
    post({"query": invalid, "extensions": apq(persisted.sha256(invalid))})
    persisted.apq_store.clear_memory()
    assert codes(body(post({"extensions": apq(persisted.sha256(invalid))}))) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize("extensions", [
    {"persistedQuery": "x"},
    {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
    {"persistedQuery": {"version": 1, "sha256Hash": "not hex"}},
    {"persistedQuery": {"version": 1}},
])
def test_malformed_persisted_query_extensions_are_400(extensions):
    response = post({"extensions": extensions}, accept=JSON)
    assert response.status_code == 400 and codes(body(response)) == ["BAD_USER_INPUT"]


def test_the_apq_store_is_bounded(settings):
    settings.GRAPHQL_APQ_MAX_DOCUMENTS = 3
    texts = [f"query Q{i} {{ __typename }}" for i in range(5)]
    for text in texts:
        assert body(post({"query": text, "extensions": apq(persisted.sha256(text))}))["data"]
    assert persisted.apq_store.count() == 3
    persisted.apq_store.clear_memory()
    found = [codes(body(post({"extensions": apq(persisted.sha256(t))}))) for t in texts]
    assert found == [["PERSISTED_QUERY_NOT_FOUND"]] * 2 + [[]] * 3  # the oldest went first


def test_a_text_over_the_size_bound_runs_but_is_not_stored(settings):
    settings.GRAPHQL_APQ_MAX_BYTES = 20
    text = "query LongEnoughName { __typename }"
    assert body(post({"query": text, "extensions": apq(persisted.sha256(text))}))["data"]
    assert persisted.apq_store.count() == 0


def test_apq_switched_off_says_not_supported(settings):
    settings.GRAPHQL_APQ = False
    digest = persisted.sha256(USERS)
    assert codes(body(post({"extensions": apq(digest)}))) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
    assert body(post({"query": USERS, "extensions": apq(digest)}))["data"]


# --- persisted documents: trusted documents ---------------------------------------------------------
@pytest.fixture
def trusted(tmp_path, settings):
    """A Relay-style manifest {hash: text} with one query and one mutation, switched on."""
    documents = [USERS, "mutation Login($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) "
                        "{ token } }"]
    manifest = {persisted.sha256(text): text for text in documents}
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps(manifest))
    settings.GRAPHQL_TRUSTED_DOCUMENTS = str(path)
    persisted.load_manifest.cache_clear()
    yield manifest
    persisted.load_manifest.cache_clear()


def test_trusted_documents_run_by_id_and_nothing_else_runs(trusted, alice):
    query_id, login_id = list(trusted)
    assert body(post({"extensions": apq(query_id)}))["data"]["users"]["edges"]
    assert body(post({"documentId": f"sha256:{query_id}"}))["data"]["users"]["edges"]
    assert body(get({"documentId": query_id}))["data"]["users"]["edges"]
    login = post({"documentId": login_id, "variables": {"u": "alice", "p": PASSWORD}})
    assert body(login)["data"]["tokenAuth"]["token"]
    assert body(post({"query": USERS}))["data"]  # a text in the list runs too

    for request_body in ({"query": "{ __typename }"}, {"query": "{ __typename }", "extensions": apq(
            persisted.sha256("{ __typename }"))}, {"documentId": "0" * 64}):
        response = post(request_body, accept=GR)
        assert response.status_code == 400 and codes(body(response)) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert persisted.apq_store.count() == 0  # nothing is registered in this mode


def test_an_apollo_manifest_works_too(tmp_path, settings):
    path = tmp_path / "persisted-query-manifest.json"
    path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": "users-v1", "name": "Users", "type": "query", "body": USERS}]}))
    settings.GRAPHQL_TRUSTED_DOCUMENTS = str(path)
    persisted.load_manifest.cache_clear()
    try:
        assert body(post({"documentId": "users-v1"}))["data"] == {"users": {"edges": []}}
    finally:
        persisted.load_manifest.cache_clear()


def test_the_trusted_manifest_is_checked_at_startup(tmp_path, settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"a": USERS, "b": "{ nope }"}))
    settings.GRAPHQL_TRUSTED_DOCUMENTS = str(path)
    persisted.load_manifest.cache_clear()
    try:
        with pytest.raises(SystemCheckError, match="trusted document b"):
            call_command("check")
        path.write_text("[1, 2]")
        persisted.load_manifest.cache_clear()
        with pytest.raises(SystemCheckError, match="expected an object"):
            call_command("check")
    finally:
        persisted.load_manifest.cache_clear()


# --- X-Request-ID and CORS ------------------------------------------------------------------------
@pytest.mark.parametrize("path, accept", [
    ("/graphql", "text/html"),  # GraphiQL
    ("/graphql?query={__typename}", JSON),
    ("/healthz", JSON),
    ("/schema.graphql", "*/*"),
    ("/nope", "text/html"),  # 404
    ("/static/graphiql/app.js", "*/*"),
    ("/admin/login/", "text/html"),
])
def test_every_response_has_a_request_id(path, accept):
    response = Client().get(path, HTTP_ACCEPT=accept)
    assert len(response["X-Request-ID"]) == 32, (path, response.status_code)
    echoed = Client().get(path, HTTP_ACCEPT=accept, HTTP_X_REQUEST_ID="trace-123.abc")
    assert echoed["X-Request-ID"] == "trace-123.abc"
    unsafe = Client().get(path, HTTP_ACCEPT=accept, HTTP_X_REQUEST_ID="bad id\n<script>")
    assert unsafe["X-Request-ID"] != "bad id\n<script>" and len(unsafe["X-Request-ID"]) == 32


def test_the_request_id_reaches_internal_error_reports(monkeypatch):
    from schema.core import views

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "execute", boom)
    response = Client().post("/graphql", json.dumps({"query": "{ __typename }"}), content_type="application/json",
                             HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 500
    assert body(response)["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}


def test_the_log_filter_adds_the_current_request_id():
    import logging

    from common.request_id import RequestIDLogFilter, use_request_id

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with use_request_id("abc"):
        RequestIDLogFilter().filter(record)
    assert record.request_id == "abc"
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestIDLogFilter().filter(outside)
    assert outside.request_id == "-"


PREFLIGHT = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
             "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type"}


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080",
                                    "https://localhost"])
def test_development_allows_localhost_origins_over_http_and_websockets(settings, origin):
    from schema.core.origins import cross_origin_allowed

    settings.CORS_ALLOWED_ORIGINS = []
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?$"]
    response = Client().options("/graphql", HTTP_ORIGIN=origin, **PREFLIGHT)
    assert response["Access-Control-Allow-Origin"] == origin
    answered = post({"query": "{ __typename }"}, client=Client(HTTP_ORIGIN=origin))
    assert answered["Access-Control-Allow-Origin"] == origin
    assert "x-request-id" in answered["Access-Control-Expose-Headers"].lower()
    assert cross_origin_allowed(origin)
    for foreign in ("http://localhost.evil.example", "http://evil.example", "http://localhost:3000.evil.example"):
        assert not cross_origin_allowed(foreign)
        assert "Access-Control-Allow-Origin" not in Client().options("/graphql", HTTP_ORIGIN=foreign, **PREFLIGHT)


def test_production_follows_cors_allowed_origins_only(settings):
    from schema.core.origins import cross_origin_allowed

    settings.CORS_ALLOWED_ORIGIN_REGEXES = []
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    assert cross_origin_allowed("https://app.example")
    assert not cross_origin_allowed("http://localhost:3000")
    assert not cross_origin_allowed("http://app.example")


def test_debug_decides_the_localhost_rule():
    import os
    import subprocess
    import sys

    code = "from django.conf import settings; print(bool(settings.CORS_ALLOWED_ORIGIN_REGEXES))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    for debug, expected in (("1", "True"), ("0", "False")):
        out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"],
                             env={**env, "DEBUG": debug}, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


@pytest.mark.anyio
async def test_websockets_follow_the_same_origin_rule(settings, anyio_backend):
    from tests.support.websockets import Socket

    async def admitted(origin: str) -> bool:
        socket = Socket(headers=[(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")])
        connected = await socket.connect()
        await socket.disconnect()
        return connected

    settings.CORS_ALLOWED_ORIGINS = []
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?$"]
    assert await admitted("http://localhost:3000")
    assert not await admitted("https://evil.example")
    settings.CORS_ALLOWED_ORIGIN_REGEXES = []
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    assert await admitted("https://app.example")
    assert not await admitted("http://localhost:3000")
    assert await admitted("http://127.0.0.1:8000")  # this site itself
    assert not await admitted("http://127.0.0.1:3000")  # the same host on another port is another origin


def test_the_schema_downloads_as_sdl_and_matches_the_repository_file():
    from pathlib import Path

    response = Client().get("/schema.graphql")
    assert response.status_code == 200 and response["Content-Type"] == "text/plain; charset=utf-8"
    repository_file = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"
    assert response.content.decode() == repository_file.read_text()
    again = Client().get("/schema.graphql", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


@pytest.mark.anyio
async def test_trusted_documents_hold_over_websockets_too(trusted, sockets, anyio_backend):
    socket = await sockets()
    await socket.send({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
    message = await socket.recv()
    assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    await socket.send({"id": "2", "type": "subscribe", "payload": {"query": USERS}})
    assert (await socket.recv())["payload"] == {"data": {"users": {"edges": []}}}
