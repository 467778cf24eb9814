"""Abuse limits on getting in (users/throttle.py, schema/core/credentials.py): failed logins per account and
per address with a growing back-off, registrations per address, one credential mutation per request."""

from __future__ import annotations

import datetime
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from freezegun import freeze_time

from tests.conftest import ACCEPT, PASSWORD, make_user
from users import throttle
from users.models import User

TOKEN_AUTH = "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }"
REGISTER = """mutation($input: RegisterInput!) { register(input: $input) { user { username } token errors { code } } }"""


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """What is measured is how many passwords get checked (``hashed``), not Argon2's time: a fast hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hashed():
    """How many passwords were checked (Django sends user_login_failed for each failed check)."""
    calls = []

    def count(sender, credentials, request=None, **kwargs):
        calls.append(credentials.get("username"))

    user_login_failed.connect(count)
    yield calls
    user_login_failed.disconnect(count)


def login(gql, password, username="alice", address=None):
    headers = {"REMOTE_ADDR": address} if address else None
    return gql(TOKEN_AUTH, {"u": username, "p": password}, headers=headers)


def outcome(response) -> str:
    if response.data and response.data.get("tokenAuth"):
        return "ok"
    return response.error_codes()[0]


def test_200_wrong_passwords_in_a_minute_reach_the_hasher_10_times(gql, alice, hashed):
    """An attacker spreading 200 guesses over one minute gets 10 checked: 5 free, then 1, 2, 4, 8, 16 s waits."""
    start = datetime.datetime(2030, 1, 1, 12, 0, 0)
    outcomes = []
    with freeze_time(start) as frozen:
        for _ in range(200):
            outcomes.append(outcome(login(gql, "wrong-password")))
            frozen.tick(0.3)  # 200 attempts over 60 s
    assert outcomes.count("UNAUTHENTICATED") == 10
    assert outcomes.count("RATE_LIMITED") == 190
    assert len(hashed) == 10  # refused attempts never reach Argon2
    assert outcomes[:5] == ["UNAUTHENTICATED"] * 5 and outcomes[5] == "RATE_LIMITED"


def test_refused_attempts_say_when_to_retry_and_the_right_password_works_after_the_back_off(gql, alice, hashed):
    with freeze_time(datetime.datetime(2030, 1, 1, 12, 0, 0)) as frozen:
        for _ in range(7):
            assert outcome(login(gql, "wrong-password")) == "UNAUTHENTICATED"
            frozen.tick(10)  # past each wait: 1, 2 then 4 s
        refused = login(gql, PASSWORD)  # the 7th failure means a 4 s wait... now 10 s later: allowed
        assert outcome(refused) == "ok"
        # A success clears the account's count: five free failures again.
        for _ in range(5):
            assert outcome(login(gql, "wrong-password")) == "UNAUTHENTICATED"
        refused = login(gql, PASSWORD)
        assert refused.error_codes() == ["RATE_LIMITED"] and refused.data == {"tokenAuth": None}
        error = refused.errors[0]
        assert error["extensions"]["retryAfter"] == 1
        assert "try again in 1 s" in error["message"]
        frozen.tick(1.01)
        assert outcome(login(gql, PASSWORD)) == "ok"


def test_the_wait_doubles_and_is_capped(gql, alice, settings):
    settings.LOGIN_BACKOFF_MAX_SECONDS = 60
    waits = []
    with freeze_time(datetime.datetime(2030, 1, 1, 12, 0, 0)) as frozen:
        for failure in range(1, 13):
            assert outcome(login(gql, "wrong-password")) == "UNAUTHENTICATED"
            if failure >= 5:
                refused = login(gql, "wrong-password")
                assert outcome(refused) == "RATE_LIMITED"
                waits.append(refused.errors[0]["extensions"]["retryAfter"])
                frozen.tick(waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_retry_after_header(alice):
    client = Client()
    body = json.dumps({"query": TOKEN_AUTH, "variables": {"u": "alice", "p": "wrong"}})
    with freeze_time(datetime.datetime(2030, 1, 1, 12, 0, 0)):
        for _ in range(5):
            client.post("/graphql", body, content_type="application/json", HTTP_ACCEPT=ACCEPT)
        response = client.post("/graphql", body, content_type="application/json", HTTP_ACCEPT=ACCEPT)
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert response["Retry-After"] == "1"


def test_unknown_accounts_and_any_spelling_count_the_same(gql, alice, hashed):
    with freeze_time(datetime.datetime(2030, 1, 1, 12, 0, 0)):
        for name in ("alice", "ALICE", "Alice", " alice", "aLiCe"):
            assert outcome(login(gql, "wrong", username=name)) == "UNAUTHENTICATED"
        assert outcome(login(gql, PASSWORD, username="alice")) == "RATE_LIMITED"
        for _ in range(5):
            assert outcome(login(gql, "wrong", username="nobody-here")) == "UNAUTHENTICATED"
        assert outcome(login(gql, "wrong", username="nobody-here")) == "RATE_LIMITED"


def test_one_address_guessing_many_accounts_is_slowed_down_too(gql, alice, settings):
    settings.LOGIN_FAILURES_FREE_PER_ADDRESS = 20
    with freeze_time(datetime.datetime(2030, 1, 1, 12, 0, 0)):
        results = [outcome(login(gql, "wrong", username=f"victim{i}", address="203.0.113.9")) for i in range(21)]
        assert results == ["UNAUTHENTICATED"] * 20 + ["RATE_LIMITED"]
        assert outcome(login(gql, PASSWORD, address="203.0.113.9")) == "RATE_LIMITED"  # even a right password
        assert outcome(login(gql, PASSWORD, address="198.51.100.7")) == "ok"  # another address is not


def test_concurrent_guesses_cannot_all_pass_the_check_first():
    """The check and the count are one atomic step: of 50 simultaneous attempts, 5 may check a password."""
    def attempt(_):
        try:
            throttle.begin_login("carol", "192.0.2.1")
            return True
        except throttle.Throttled:
            return False

    with ThreadPoolExecutor(16) as pool:
        allowed = sum(pool.map(attempt, range(50)))
    assert allowed == 5


def test_registrations_per_address(gql, settings):
    settings.REGISTRATIONS_PER_ADDRESS = 3
    results = []
    for i in range(4):
        data = {"username": f"newbie{i}", "email": f"newbie{i}@example.com", "password": PASSWORD}
        results.append(gql(REGISTER, {"input": data}))
    assert [r.data["register"]["user"]["username"] for r in results[:3]] == ["newbie0", "newbie1", "newbie2"]
    assert results[3].error_codes() == ["RATE_LIMITED"] and results[3].data is None  # register is non-null
    assert 0 < results[3].errors[0]["extensions"]["retryAfter"] <= 3600
    assert not User.objects.filter(username="newbie3").exists()
    other = gql(REGISTER, {"input": {"username": "elsewhere", "email": "e@example.com", "password": PASSWORD}},
                headers={"REMOTE_ADDR": "198.51.100.7"})
    assert other.data["register"]["user"] == {"username": "elsewhere"}


# --- one credential mutation per request --------------------------------------------------------------
def aliased(field: str, count: int) -> str:
    if field == "tokenAuth":
        body = " ".join(f'a{i}: tokenAuth(username: "alice", password: "guess{i}") {{ token }}' for i in range(count))
    else:
        body = " ".join(
            f'a{i}: register(input: {{username: "bulk{i}", email: "bulk{i}@example.com", password: "{PASSWORD}"}})'
            " { user { username } }" for i in range(count))
    return f"mutation {{ {body} }}"


def test_100_aliased_token_auth_guesses_are_refused_before_any_hashing(gql, alice, hashed):
    started = time.perf_counter()
    r = gql(aliased("tokenAuth", 100))
    elapsed = time.perf_counter() - started
    assert r.status == 400 and r.error_codes() == ["QUERY_TOO_COMPLEX"]
    assert "at most 1 tokenAuth, register or refreshToken (this one has 100)" in r.errors[0]["message"]
    assert "data" not in r.body
    assert hashed == [] and elapsed < 1.0


def test_100_registrations_in_one_request_are_refused(gql):
    r = gql(aliased("register", 100))
    assert r.status == 400 and r.error_codes() == ["QUERY_TOO_COMPLEX"]
    assert User.objects.count() == 0


def test_two_credential_mutations_in_one_document_or_through_fragments_are_refused(gql, alice, hashed):
    mixed = (f'mutation {{ tokenAuth(username: "alice", password: "x") {{ token }} '
             f'register(input: {{username: "x1y", email: "x@example.com", password: "{PASSWORD}"}}) {{ token }} }}')
    spread = ('fragment F on Mutation { tokenAuth(username: "alice", password: "x") { token } } '
              'mutation { ...F ... on Mutation { ...F } }')
    two_operations = ('mutation A { tokenAuth(username: "alice", password: "x") { token } } '
                      'mutation B { refreshToken(refreshToken: "x") { token } }')
    for document in (mixed, spread, two_operations):
        r = gql(document, {})
        assert r.error_codes() == ["QUERY_TOO_COMPLEX"], (document, r.body)
    assert hashed == []
    ok = gql(f'mutation {{ tokenAuth(username: "alice", password: "{PASSWORD}") {{ token }} }}')
    assert ok.data["tokenAuth"]["token"]


def test_a_batch_counts_credential_mutations_across_its_operations(alice, hashed):
    client = Client()
    guess = {"query": TOKEN_AUTH, "variables": {"u": "alice", "p": "guess"}}
    response = client.post("/graphql", json.dumps([guess] * 10), content_type="application/json", HTTP_ACCEPT=ACCEPT)
    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "(this one has 10)" in body["errors"][0]["message"]
    assert hashed == []
    # One credential mutation among other operations is fine.
    good = [{"query": TOKEN_AUTH, "variables": {"u": "alice", "p": PASSWORD}}, {"query": "{ __typename }"}]
    response = client.post("/graphql", json.dumps(good), content_type="application/json", HTTP_ACCEPT=ACCEPT)
    results = json.loads(response.content)
    assert response.status_code == 200 and results[0]["data"]["tokenAuth"]["token"]
    assert results[1]["data"] == {"__typename": "Query"}
