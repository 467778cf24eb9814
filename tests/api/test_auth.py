"""Registration, login, token refresh with rotation, revocation, bad tokens."""

import datetime

import jwt
import pytest
from django.conf import settings
from freezegun import freeze_time
from graphql_jwt.shortcuts import create_refresh_token, get_token

from users.models import User

from tests.conftest import PASSWORD

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) {
    user { username displayName email }
    token refreshToken
    errors { field message code }
  }
}"""

TOKEN_AUTH = """
mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token refreshToken payload refreshExpiresIn } }"""

REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { token refreshToken payload } }"
REVOKE = "mutation($t: String!) { revokeToken(refreshToken: $t) { revoked } }"
VIEWER = "{ viewer { username } }"


def register(gql, **fields):
    data = {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD, **fields}
    return gql(REGISTER, {"input": data})


def test_register_returns_working_tokens(gql):
    r = register(gql, displayName="  New Bie  ")
    payload = r.data["register"]
    assert payload["errors"] == []
    assert payload["user"] == {"username": "newbie", "displayName": "New Bie", "email": "newbie@example.com"}
    assert gql(VIEWER, token=payload["token"]).data == {"viewer": {"username": "newbie"}}
    refreshed = gql(REFRESH, {"t": payload["refreshToken"]})
    assert refreshed.data["refreshToken"]["token"]
    assert User.objects.get(username="newbie").password.startswith("argon2")


@pytest.mark.parametrize(
    "fields, field, code",
    [
        ({"username": "ALICE"}, "username", "DUPLICATE"),
        ({"username": "  "}, "username", "REQUIRED"),
        ({"username": "ab"}, "username", "INVALID"),
        ({"username": "x" * 31}, "username", "TOO_LONG"),
        ({"username": "bad name!"}, "username", "INVALID"),
        ({"email": "not-an-email"}, "email", "INVALID"),
        ({"email": ""}, "email", "REQUIRED"),
        ({"email": "ALICE@example.com"}, "email", "DUPLICATE"),
        ({"password": "12345678"}, "password", "INVALID"),
        ({"password": "password"}, "password", "INVALID"),
        ({"password": ""}, "password", "REQUIRED"),
        ({"displayName": "d" * 51}, "displayName", "TOO_LONG"),
    ],
)
def test_register_validation(gql, alice, fields, field, code):
    before = User.objects.count()
    r = register(gql, **fields)
    assert r.status == 200
    payload = r.data["register"]
    assert payload["user"] is None and payload["token"] is None
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in payload["errors"]]
    assert all(e["message"] for e in payload["errors"])
    assert User.objects.count() == before


def test_login_is_case_insensitive_and_rejects_wrong_password(gql, alice):
    ok = gql(TOKEN_AUTH, {"u": "Alice", "p": PASSWORD})
    assert ok.data["tokenAuth"]["token"] and ok.data["tokenAuth"]["refreshToken"]
    assert ok.data["tokenAuth"]["payload"]["username"] == "alice"
    bad = gql(TOKEN_AUTH, {"u": "alice", "p": "wrong-password"})
    assert bad.data == {"tokenAuth": None}
    assert bad.error_codes() == ["UNAUTHENTICATED"]


def test_refresh_rotates_and_old_refresh_token_stops_working(gql, alice):
    first = gql(TOKEN_AUTH, {"u": "alice", "p": PASSWORD}).data["tokenAuth"]["refreshToken"]
    second = gql(REFRESH, {"t": first}).data["refreshToken"]
    assert second["refreshToken"] != first
    assert gql(VIEWER, token=second["token"]).data["viewer"]["username"] == "alice"
    # The new one works (once).
    third = gql(REFRESH, {"t": second["refreshToken"]})
    assert third.data["refreshToken"]["token"]
    replay = gql(REFRESH, {"t": first})
    assert replay.data == {"refreshToken": None}
    assert replay.error_codes() == ["UNAUTHENTICATED"]
    # A replay ends the whole chain (tests/api/test_token_sessions.py).
    assert gql(REFRESH, {"t": third.data["refreshToken"]["refreshToken"]}).error_codes() == ["UNAUTHENTICATED"]


def test_revoke_logs_out(gql, alice):
    refresh = gql(TOKEN_AUTH, {"u": "alice", "p": PASSWORD}).data["tokenAuth"]["refreshToken"]
    assert gql(REVOKE, {"t": refresh}).data["revokeToken"]["revoked"] > 0
    again = gql(REFRESH, {"t": refresh})
    assert again.data == {"refreshToken": None} and again.error_codes() == ["UNAUTHENTICATED"]


def test_access_token_expires_after_five_minutes(gql, alice):
    with freeze_time(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=6)):
        token = gql(TOKEN_AUTH, {"u": "alice", "p": PASSWORD}).data["tokenAuth"]["token"]
    r = gql(VIEWER, token=token)
    assert r.status == 401
    assert r.error_codes() == ["UNAUTHENTICATED"]
    assert "expired" in r.errors[0]["message"]
    assert "Traceback" not in str(r.body)


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        jwt.encode({"username": "alice", "exp": 9999999999}, "some-other-key", algorithm="HS256"),
        jwt.encode({"username": "alice", "exp": 9999999999}, None, algorithm="none"),
        jwt.encode({"username": "ghost", "exp": 9999999999}, settings.SECRET_KEY, algorithm="HS256"),
        "",
    ],
    ids=["malformed", "wrong-key", "alg-none", "unknown-user", "empty"],
)
def test_bad_tokens_are_unauthenticated(gql, alice, token):
    r = gql(VIEWER, headers={"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert r.status == 401
    assert r.error_codes() == ["UNAUTHENTICATED"]
    assert set(r.errors[0]) <= {"message", "extensions", "locations", "path"}
    assert "Traceback" not in r.errors[0]["message"]


def test_wrong_scheme_is_unauthenticated(gql, alice):
    r = gql(VIEWER, headers={"HTTP_AUTHORIZATION": "JWT abc.def.ghi"})
    assert r.error_codes() == ["UNAUTHENTICATED"]


def test_no_token_reads_public_data(gql, alice):
    r = gql('{ viewer { username } user(username: "alice") { username } }')
    assert r.status == 200 and r.data == {"viewer": None, "user": {"username": "alice"}}


def test_verify_token(gql, alice):
    token = gql(TOKEN_AUTH, {"u": "alice", "p": PASSWORD}).data["tokenAuth"]["token"]
    assert gql("mutation($t: String!) { verifyToken(token: $t) { payload } }", {"t": token}).data[
        "verifyToken"]["payload"]["username"] == "alice"
    bad = gql("mutation { verifyToken(token: \"nope\") { payload } }")
    assert bad.error_codes() == ["UNAUTHENTICATED"]


# --- access and refresh tokens are not interchangeable; deactivation ends both -------------------
REFRESH_TOKENS = "mutation($t: String) { refreshToken(refreshToken: $t) { token refreshToken } }"


def test_refresh_token_is_not_an_access_token_and_vice_versa(gql, alice):
    r = gql("{ viewer { username } }", token=str(create_refresh_token(alice)))
    assert r.status == 401 and r.error_codes() == ["UNAUTHENTICATED"]
    r = gql(REFRESH_TOKENS, {"t": get_token(alice)})
    assert r.error_codes() == ["UNAUTHENTICATED"] and r.data == {"refreshToken": None}


def test_deactivated_user_tokens_stop_working(gql, alice):
    access, refresh = get_token(alice), str(create_refresh_token(alice))
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    r = gql("{ viewer { username } }", token=access)
    assert r.status == 401 and r.error_codes() == ["UNAUTHENTICATED"]
    r = gql(REFRESH_TOKENS, {"t": refresh})
    assert r.error_codes() == ["UNAUTHENTICATED"] and r.data == {"refreshToken": None}, r.body
    alice.is_active = True
    alice.save(update_fields=["is_active"])
    assert gql(REFRESH_TOKENS, {"t": refresh}).error_codes() == ["UNAUTHENTICATED"]  # revoked for good
