"""Persisted documents: Apollo's APQ and trusted documents."""

from __future__ import annotations

import json

import pytest

from schema.core import persisted
from schema.core.execution import _parse_and_validate
from tests.conftest import PASSWORD
from tests.support.http import GR, JSON, body, codes, fresh_apq_memory, get, post  # noqa: F401 - autouse fixture
from tests.support.websockets import anyio_backend, sockets  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


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


@pytest.mark.anyio
async def test_trusted_documents_hold_over_websockets_too(trusted, sockets, anyio_backend):
    socket = await sockets()
    await socket.send({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
    message = await socket.recv()
    assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    await socket.send({"id": "2", "type": "subscribe", "payload": {"query": USERS}})
    assert (await socket.recv())["payload"] == {"data": {"users": {"edges": []}}}
