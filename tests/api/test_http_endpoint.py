"""The /graphql endpoint over HTTP: malformed requests and invalid documents are JSON errors with a code (never a
500 or an HTML page), CORS, session cookies never authenticate, 404s leak nothing."""

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _post(client, body: str):
    return client.post("/graphql", body, content_type="application/json")


@pytest.mark.parametrize("body", [
    '{"query": 5}',
    '{"query": ["{ viewer { id } }"]}',
    '{"query": {"a": 1}}',
    '{"query": "{ viewer { id } }", "operationName": 5}',
    '{"query": "{ viewer { id } }", "variables": "{"}',
    '{"query": "{ viewer { id } }", "variables": "[1]"}',
    '{"query": "{ viewer { id } }", "variables": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "[" * 100_000 + "]" * 100_000,
    '[{"query": "{ viewer { id } }"}' + ', {"query": "{ viewer { id } }"}' * 10 + "]",  # a batch over the cap
    "[]",
])
def test_malformed_requests_are_bad_user_input(body):
    response = _post(Client(), body)
    assert response.status_code == 400 and response["Content-Type"] == "application/json", response.content[:300]
    assert [e["extensions"]["code"] for e in json.loads(response.content)["errors"]] == ["BAD_USER_INPUT"]


def test_variables_in_a_bad_query_string_are_bad_user_input():
    response = Client().get("/graphql", {"query": "{ viewer { id } }", "variables": "{"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_deeply_nested_but_parseable_variables_are_not_a_500():
    depth = 900  # json.loads accepts it; a recursive walk over it would not
    variables = "[" * depth + '"x"' + "]" * depth
    body = '{"query": "query($s: String!) { user(username: $s) { id } }", "variables": {"s": ' + variables + "}}"
    response = _post(Client(), body)
    # A variable coercion error: 200 for a client accepting only application/json (the GraphQL over HTTP spec)
    assert response.status_code == 200, response.content[:300]
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_root_field_skipped_by_a_variable_is_a_validation_error_over_http(gql):
    response = gql("subscription S($s: Boolean!) { postDeleted @skip(if: $s) }", {"s": True})
    # A request error like any invalid document (was a 500).
    assert response.status == 400 and response.error_codes() == ["GRAPHQL_VALIDATION_FAILED"], response.errors


def test_cors_is_off_without_allowed_origins_and_exact_with_them(settings):
    client = Client()
    preflight = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
                 "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type"}
    settings.CORS_ALLOWED_ORIGINS = []
    response = client.options("/graphql", HTTP_ORIGIN="https://app.example", **preflight)
    assert "access-control-allow-origin" not in response
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    assert "access-control-allow-origin" not in client.options("/graphql", HTTP_ORIGIN="https://evil.example",
                                                               **preflight)
    response = client.options("/graphql", HTTP_ORIGIN="https://app.example", **preflight)
    assert response["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in response["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in response  # tokens travel in a header, never cookies


def test_session_cookies_never_authenticate_graphql(alice):
    client = Client()
    client.force_login(alice)  # e.g. an admin session: no ambient credential for a cross-site form post
    mutation = "mutation { createPost(input: {body: \"csrf\"}) { errors { code } } }"
    response = client.post("/graphql", {"query": mutation})
    assert response.status_code == 415  # a form post (what a foreign page can send without CORS) never runs
    response = client.post("/graphql", json.dumps({"query": mutation}), content_type="application/json")
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("path", ["/nope", "/graphql/x", "/static/../config/settings.py"])
def test_not_found_pages_leak_nothing(settings, path):
    assert settings.DEBUG is False
    response = Client().get(path)
    assert response.status_code == 404
    text = response.content.decode()
    assert "Traceback" not in text and "settings" not in text.lower() and "urlpatterns" not in text.lower()
