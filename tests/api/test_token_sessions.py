"""Access tokens name a user id, a token id and a login session; ending the session ends them
(users/sessions.py, schema/core/auth.py)."""

from __future__ import annotations

import uuid

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from tests.conftest import PASSWORD, make_user
from users import sessions
from users.models import RefreshToken, User
from users.purge import purge_user
from users.services import user_delete
from users.tasks import purge_refresh_tokens_now

TOKEN_AUTH = """mutation($u: String!, $p: String!) {
  tokenAuth(username: $u, password: $p) { token refreshToken payload refreshExpiresIn } }"""
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { token refreshToken payload } }"
REVOKE = "mutation($t: String!) { revokeToken(refreshToken: $t) { revoked } }"
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { token refreshToken errors { code } } }"
VIEWER = "{ viewer { username } }"


def log_in(gql, username="alice"):
    return gql(TOKEN_AUTH, {"u": username, "p": PASSWORD}).data["tokenAuth"]


def viewer(gql, token):
    r = gql(VIEWER, token=token)
    return r.data["viewer"]["username"] if r.status == 200 and r.data and r.data["viewer"] else r.error_codes()


def test_access_tokens_carry_the_user_id_a_token_id_and_the_session(gql, alice):
    first, second = log_in(gql), log_in(gql)
    claims = first["payload"]
    assert claims["sub"] == str(alice.pk) and claims["username"] == "alice"
    assert isinstance(claims["exp"], int) and isinstance(claims["origIat"], int)
    assert claims["jti"] != second["payload"]["jti"]
    assert claims["sid"] != second["payload"]["sid"]  # two logins, two sessions
    assert str(RefreshToken.objects.get(token=first["refreshToken"]).session) == claims["sid"]
    refreshed = gql(REFRESH, {"t": first["refreshToken"]}).data["refreshToken"]
    assert refreshed["payload"]["sid"] == claims["sid"] and refreshed["payload"]["jti"] != claims["jti"]


def test_revoke_ends_the_sessions_access_tokens_and_only_those(gql, alice):
    first, other = log_in(gql), log_in(gql)
    refreshed = gql(REFRESH, {"t": first["refreshToken"]}).data["refreshToken"]
    assert viewer(gql, first["token"]) == "alice" and viewer(gql, refreshed["token"]) == "alice"
    assert gql(REVOKE, {"t": refreshed["refreshToken"]}).data["revokeToken"]["revoked"] > 0
    r = gql(VIEWER, token=first["token"])
    assert r.status == 401 and r.error_codes() == ["UNAUTHENTICATED"]
    assert "session has ended" in r.errors[0]["message"]
    assert viewer(gql, refreshed["token"]) == ["UNAUTHENTICATED"]  # the newest access token too
    assert gql(REFRESH, {"t": refreshed["refreshToken"]}).error_codes() == ["UNAUTHENTICATED"]
    assert viewer(gql, other["token"]) == "alice"  # another login of the same account goes on


def test_replaying_a_rotated_refresh_token_revokes_the_whole_chain(gql, alice):
    first = log_in(gql)
    second = gql(REFRESH, {"t": first["refreshToken"]}).data["refreshToken"]
    third = gql(REFRESH, {"t": second["refreshToken"]}).data["refreshToken"]
    assert viewer(gql, third["token"]) == "alice"

    replay = gql(REFRESH, {"t": first["refreshToken"]})  # someone kept a copy of the first one
    assert replay.data == {"refreshToken": None} and replay.error_codes() == ["UNAUTHENTICATED"]
    # The legitimate holder's newest refresh token is revoked, and every access token of the chain.
    assert gql(REFRESH, {"t": third["refreshToken"]}).error_codes() == ["UNAUTHENTICATED"]
    for token in (first["token"], second["token"], third["token"]):
        assert viewer(gql, token) == ["UNAUTHENTICATED"]
    session = RefreshToken.objects.get(token=first["refreshToken"]).session
    assert not RefreshToken.objects.filter(session=session, revoked__isnull=True).exists()
    assert viewer(gql, log_in(gql)["token"]) == "alice"  # logging in again works


def test_revoking_with_a_traded_in_token_ends_the_session_too(gql, alice):
    first = log_in(gql)
    second = gql(REFRESH, {"t": first["refreshToken"]}).data["refreshToken"]
    assert gql(REVOKE, {"t": first["refreshToken"]}).error_codes() == ["UNAUTHENTICATED"]
    assert viewer(gql, second["token"]) == ["UNAUTHENTICATED"]
    assert gql(REVOKE, {"t": "no-such-token"}).error_codes() == ["UNAUTHENTICATED"]


def test_a_deleted_accounts_token_does_not_pass_to_a_new_account_of_the_same_name(gql):
    data = {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD}
    old = gql(REGISTER, {"input": data}).data["register"]
    assert viewer(gql, old["token"]) == "newbie"
    deleted = User.objects.get(username="newbie")
    user_delete(deleted)
    assert purge_user(deleted.pk)[0]  # the background purge frees the name (here at once, in this thread)
    new = gql(REGISTER, {"input": data}).data["register"]
    assert new["errors"] == []
    r = gql(VIEWER, token=old["token"])
    assert r.status == 401 and r.error_codes() == ["UNAUTHENTICATED"]
    assert gql(REFRESH, {"t": old["refreshToken"]}).error_codes() == ["UNAUTHENTICATED"]
    assert viewer(gql, new["token"]) == "newbie"


def forged(claims: dict, key=None) -> str:
    return jwt.encode(claims, key or settings.SECRET_KEY, algorithm="HS256")


@pytest.mark.parametrize("claims", [
    {"username": "alice", "jti": "x"},                                   # no exp
    {"username": "alice", "jti": "x", "exp": "9999999999"},              # exp as a string
    {"username": "alice", "jti": "x", "exp": None},
    {"username": "alice", "jti": "x", "exp": True},
    {"username": "alice", "jti": "x", "exp": [9999999999]},
    {"username": {"$ne": ""}, "jti": "x", "exp": 9999999999},             # username as an object
    {"username": ["alice"], "jti": "x", "exp": 9999999999},
    {"username": "alice", "exp": 9999999999},                            # no jti
    {"username": "alice", "jti": {"a": 1}, "exp": 9999999999},
    {"username": "alice", "jti": "x", "exp": 9999999999, "sub": None},   # sub replaced below unless given
    {"username": "alice", "jti": "x", "exp": 9999999999, "sub": 1},
    {"username": "alice", "jti": "x", "exp": 9999999999, "sub": "99999999999999999999999"},
    {"username": "alice", "jti": "x", "exp": 9999999999, "sub": "-1"},
    {"username": "alice", "jti": "x", "exp": 9999999999, "sid": "not-a-session"},
    {"username": "alice", "jti": "x", "exp": 9999999999, "sid": {"a": 1}},
    {"username": "alice", "jti": "x", "exp": 9999999999, "origIat": "yesterday"},
], ids=["no-exp", "exp-string", "exp-null", "exp-bool", "exp-list", "username-object", "username-list", "no-jti",
        "jti-object", "sub-null", "sub-int", "sub-huge", "sub-negative", "sid-text", "sid-object", "origIat-text"])
def test_bad_claims_are_unauthenticated_never_500(gql, alice, claims):
    claims = {"sub": str(alice.pk), **claims}
    token = forged(claims)
    r = gql(VIEWER, headers={"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert r.status == 401 and r.error_codes() == ["UNAUTHENTICATED"], r.body
    verify = gql("mutation($t: String!) { verifyToken(token: $t) { payload } }", {"t": token})
    assert verify.error_codes() == ["UNAUTHENTICATED"] and verify.data == {"verifyToken": None}


def test_a_well_formed_token_with_a_float_exp_and_no_session_is_accepted(gql, alice):
    token = forged({"sub": str(alice.pk), "username": "alice", "jti": "x", "exp": 9999999999.5})
    assert viewer(gql, token) == "alice"


def test_a_token_of_an_unknown_session_or_another_user_id(gql, alice, bob):
    unknown = forged({"sub": str(alice.pk), "username": "alice", "jti": "x", "exp": 9999999999,
                      "sid": str(uuid.uuid4())})
    assert viewer(gql, unknown) == "alice"  # not on the denylist: a session's end is what is recorded
    assert viewer(gql, forged({"sub": str(bob.pk + 1000), "username": "alice", "jti": "x",
                               "exp": 9999999999})) == ["UNAUTHENTICATED"]


def test_the_denylist_falls_back_to_postgresql_without_redis(alice, monkeypatch):
    live, ended = sessions.session_start(alice), sessions.session_start(alice)
    sessions.session_end(ended.session, alice.pk)

    def broken():
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(sessions, "_redis", broken)
    assert sessions.session_is_ended(str(ended.session)) is True
    assert sessions.session_is_ended(str(live.session)) is False
    assert sessions.sessions_ended([str(live.session), str(ended.session)]) == {str(ended.session)}


def test_housekeeping_keeps_the_traded_in_tokens_of_live_sessions(alice):
    session = sessions.session_start(alice)
    newer = sessions.session_rotate(session.token)
    ended = sessions.session_start(alice)
    sessions.session_end(ended.session, alice.pk)
    assert purge_refresh_tokens_now() == 1  # the ended session's token
    assert set(RefreshToken.objects.values_list("token", flat=True)) == {session.token, newer.token}
    with pytest.raises(sessions.InvalidRefreshToken):
        sessions.session_rotate(session.token)  # still recognised as a replay...
    assert not RefreshToken.objects.filter(session=session.session, revoked__isnull=True).exists()  # ...and ends it
    assert RefreshToken.objects.filter(pk=newer.pk, revoked__lte=timezone.now()).exists()


def test_concurrent_refreshes_with_one_token_issue_at_most_one_live_token(transactional_db):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    alice = make_user("alice")
    token = sessions.session_start(alice).token

    def refresh(_):
        try:
            return sessions.session_rotate(token).token
        except sessions.InvalidRefreshToken:
            return None
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(refresh, range(8)))
    assert sum(r is not None for r in results) >= 1
    # The losers' attempts are replays: the session ends, so nothing of it stays live.
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 0


# --- the viewer without a users-table read (schema/core/auth.py, users/sessions.token_still_good) --------------
def test_a_login_token_is_checked_in_redis_and_the_users_row_read_only_when_needed(gql, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    token = log_in(gql)["token"]
    gql("{ posts(first: 1) { edges { node { id } } } }", token=token)
    with CaptureQueriesContext(connection) as ctx:
        r = gql("{ posts(first: 5) { edges { node { id viewerHasLiked viewerCanUpdate } } } }", token=token)
    assert r.status == 200 and not r.errors
    assert not [q["sql"] for q in ctx.captured_queries if 'FROM "users_user" WHERE' in q["sql"]], ctx.captured_queries
    with CaptureQueriesContext(connection) as ctx:
        r = gql("{ viewer { username email displayName followerCount } }", token=token)
    assert r.data["viewer"]["username"] == "alice" and r.data["viewer"]["email"] == alice.email
    assert len([q for q in ctx.captured_queries if '"users_user"."id" = ' in q["sql"]]) == 1  # the row, once


def test_deactivating_an_account_stops_its_login_tokens_at_once_and_reactivating_lets_it_log_in(gql, alice):
    token = log_in(gql)["token"]
    assert viewer(gql, token) == "alice"
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    r = gql(VIEWER, token=token)
    assert r.status == 401 and r.error_codes() == ["UNAUTHENTICATED"]
    alice.is_active = True
    alice.save()
    assert viewer(gql, token) == "alice"  # the mark says "check the row": the row says active again
    assert viewer(gql, log_in(gql)["token"]) == "alice"


def test_a_disabled_mark_only_sends_a_token_to_the_row(gql, alice):
    token = log_in(gql)["token"]
    sessions.account_disabled(alice.pk)  # e.g. set by a deactivation whose transaction rolled back
    assert viewer(gql, token) == "alice"
    User.objects.filter(pk=alice.pk).update(is_active=False)  # no signal: the row still decides
    assert viewer(gql, token) == ["UNAUTHENTICATED"]
