"""Apollo Client 4 (Node, tests/js/apollo.mjs) against a live server: query, mutation with a token, error
codes from CombinedGraphQLErrors, a subscription through graphql-ws, the APQ link and the BatchHttpLink."""

import pytest

from tests.conftest import PASSWORD, make_user
from tests.support.live_server import daphne  # noqa: F401 - fixture
from tests.support.node import run_node

pytestmark = [pytest.mark.live, pytest.mark.slow]


def test_apollo_client_4_works_as_it_ships(daphne):  # noqa: F811
    make_user("alice")
    make_user("bob")
    server = daphne()
    out = run_node("apollo.mjs", server.http, server.ws, "alice", PASSWORD, timeout=240)

    assert sorted(out["query"]) == ["alice", "bob"]
    assert out["loginWithStaleHeader"] is True  # a stale Authorization header never blocks tokenAuth
    assert out["mutation"]["errors"] == []
    assert out["mutation"]["post"]["author"]["username"] == "alice"

    errors = out["errors"]
    assert errors["validation"] == {"thrown": "CombinedGraphQLErrors", "codes": ["GRAPHQL_VALIDATION_FAILED"]}
    assert errors["anonymousMutation"] == {"thrown": "CombinedGraphQLErrors", "codes": ["UNAUTHENTICATED"]}
    assert errors["badToken"] == {"thrown": "CombinedGraphQLErrors", "codes": ["UNAUTHENTICATED"]}
    assert errors["badVariables"] == {"thrown": "CombinedGraphQLErrors", "codes": ["BAD_USER_INPUT"]}
    # Apollo accepts application/graphql-response+json, so request errors are 4xx it can still read.
    assert out["errorStatuses"] == [[400, "application/graphql-response+json"],
                                    [401, "application/graphql-response+json"],
                                    [400, "application/graphql-response+json"]]

    assert out["subscription"]["author"]["username"] == "alice"
    assert out["subscription"]["body"].startswith("live ")

    apq = out["apq"]
    assert apq["first"] == apq["second"] == 2
    assert [(w["method"], w["hasQuery"], w["hasHash"], w["status"]) for w in apq["wire"]] == [
        ("GET", False, True, 400),  # PERSISTED_QUERY_NOT_FOUND
        ("POST", True, True, 200),  # the text with its hash: registered
        ("GET", False, True, 200),  # the hash alone now runs, cacheable by URL
    ]
    assert apq["wire"][2]["cacheControl"].startswith("public, max-age=")

    assert out["batch"]["requests"] == [{"method": "POST", "operations": 3}]
    assert out["batch"]["results"] == [2, "alice", "batched"]
