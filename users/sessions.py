"""Getting in and staying in: log in, register, and login sessions (refresh-token rotation, revocation).

A **session** is one login: its refresh tokens (``RefreshToken``, one live at a time) share the
session's id, and the access tokens issued for it carry that id (the GraphQL layer signs them).

- Rotation (:func:`session_rotate`): a refresh token is good for one refresh; the traded-in row is
  revoked (one conditional UPDATE, so two concurrent refreshes cannot both win) and kept.
- Reuse of a token that was already traded in (a replay: someone else holds a copy) ends the whole
  session — every refresh token of it, and its access tokens (the OAuth 2.0 refresh-token rotation
  rule, RFC 9700 §4.14.2).
- Ending a session (:func:`session_end`: logout, replay, a deactivated account refreshing) puts its id
  on a denylist in Redis for as long as its access tokens can live (``{REDIS_KEY_PREFIX}:auth:sid:``),
  and publishes ``session_revoked`` so open websockets of that session close (common/events.py).
  :func:`session_is_ended` answers from Redis, or from PostgreSQL when Redis cannot be reached.
- A deactivated or deleted account is marked in Redis too (:func:`account_disabled`, users/receivers.py), so
  :func:`token_still_good` tells in one Redis round trip, without the users table, whether an access token
  still works (schema/core/auth.py).

Throttling of logins and registrations: users/throttle.py, applied here before any password hashing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from django_redis import get_redis_connection

from common import events, redis_calls

from . import throttle
from .models import RefreshToken, User
from .services import user_create

logger = logging.getLogger(__name__)


class InvalidRefreshToken(Exception):
    """The refresh token does not work (unknown, traded in, revoked, expired, or its user is disabled)."""


class LoginFailed(Exception):
    """Wrong username or password (or a disabled account): nothing says which."""


# --- logging in and registering ----------------------------------------------------------------------
def login(*, username: str, password: str, address: str) -> User:
    """The user with these credentials; raises throttle.Throttled (before hashing) or LoginFailed."""
    attempt = throttle.begin_login(username, address)
    user = authenticate(None, username=username, password=password)
    if user is None:
        raise LoginFailed("Please enter valid credentials")
    attempt.succeeded()
    return user


def register(*, address: str, **fields) -> User:
    """A new account (users.services.user_create), at most REGISTRATIONS_PER_ADDRESS per window per address."""
    throttle.begin_registration(address)
    return user_create(**fields)


# --- sessions ------------------------------------------------------------------------------------------
def session_start(user: User) -> RefreshToken:
    """A new session for ``user``: its first refresh token."""
    return RefreshToken.objects.create(user=user)


def session_rotate(token: str) -> RefreshToken:
    """Trades a refresh token in for the next one of its session; raises InvalidRefreshToken."""
    if not isinstance(token, str) or not token or len(token) > 255:
        raise InvalidRefreshToken("Invalid refresh token")
    ending = None
    with transaction.atomic():
        current = RefreshToken.objects.select_related("user").filter(token=token).first()
        if current is None:
            raise InvalidRefreshToken("Invalid refresh token")
        traded_in = RefreshToken.objects.filter(pk=current.pk, revoked__isnull=True).update(revoked=timezone.now())
        if not traded_in:
            ending, reason = current, "Invalid refresh token"  # a replay, or an ended session
        elif not current.user.is_active:
            ending, reason = current, "User is disabled"
        elif current.is_expired():
            ending, reason = current, "Refresh token is expired"
        else:
            return RefreshToken.objects.create(user=current.user, session=current.session)
    session_end(ending.session, ending.user_id)
    raise InvalidRefreshToken(reason)


def refresh_token_revoke(token: str):
    """Logout: ends the session of a live refresh token; returns when. Raises InvalidRefreshToken."""
    current = RefreshToken.objects.filter(token=token).first() if isinstance(token, str) and token else None
    if current is None:
        raise InvalidRefreshToken("Invalid refresh token")
    session_end(current.session, current.user_id)
    if current.revoked is not None:  # already traded in or revoked: a replay ends the session all the same
        raise InvalidRefreshToken("Invalid refresh token")
    current.refresh_from_db(fields=["revoked"])
    return current.revoked


def session_end(session, user_id: int) -> None:
    """Revokes every refresh token of ``session``, denylists its access tokens, closes its websockets."""
    RefreshToken.objects.filter(session=session, revoked__isnull=True).update(revoked=timezone.now())
    try:
        _redis().set(_denylist_key(session), "1", ex=_access_token_seconds())
    except Exception:  # noqa: BLE001 - session_is_ended falls back to PostgreSQL
        logger.warning("could not denylist session %s in Redis", session, exc_info=True)
    events.publish("session_revoked", user_id=int(user_id), session_id=str(session))


def session_is_ended(session: str) -> bool:
    """Whether the access tokens of ``session`` stopped working (logout, replay): Redis, else PostgreSQL."""
    try:
        return bool(_redis().exists(_denylist_key(session)))
    except Exception:  # noqa: BLE001
        logger.warning("session denylist unavailable; asking PostgreSQL", exc_info=True)
    return not RefreshToken.objects.filter(session=session, revoked__isnull=True).exists()


def token_still_good(session: str, user_id: int) -> bool | None:
    """Whether an access token of ``session`` for ``user_id`` surely still works, from Redis alone (one round
    trip): its session has not ended and its account was not marked disabled (:func:`account_disabled`).
    False or None (Redis cannot answer): the caller checks the user's row and the session the slow way."""
    try:
        return not redis_calls.command(_redis(), "EXISTS", _denylist_key(session), _account_key(user_id))
    except Exception:  # noqa: BLE001
        logger.warning("session denylist unavailable; asking PostgreSQL", exc_info=True)
        return None


def account_disabled(user_id: int) -> None:
    """Marks an account deactivated or deleted (users/receivers.py, at the save): :func:`token_still_good`
    says no for its tokens, for as long as any can live, and the caller then checks the row."""
    try:
        _redis().set(_account_key(user_id), "1", ex=_access_token_seconds())
    except Exception:  # noqa: BLE001 - token_still_good's callers then check the row (Redis is down)
        logger.warning("could not mark account %s disabled in Redis", user_id, exc_info=True)


def account_enabled(user_id: int) -> None:
    """An account active again (an admin reactivated it): its new tokens work."""
    try:
        _redis().delete(_account_key(user_id))
    except Exception:  # noqa: BLE001
        logger.warning("could not clear the disabled mark of account %s in Redis", user_id, exc_info=True)


def sessions_ended(sessions: list[str]) -> set[str]:
    """Those of ``sessions`` that ended (one round trip; the websockets' periodic re-check)."""
    sessions = list(dict.fromkeys(sessions))
    if not sessions:
        return set()
    try:
        with _redis().pipeline(transaction=False) as pipe:
            for session in sessions:
                pipe.exists(_denylist_key(session))
            return {session for session, found in zip(sessions, pipe.execute()) if found}
    except Exception:  # noqa: BLE001
        logger.warning("session denylist unavailable; asking PostgreSQL", exc_info=True)
    live = set(map(str, RefreshToken.objects.filter(session__in=sessions, revoked__isnull=True)
                   .values_list("session", flat=True)))
    return {session for session in sessions if session not in live}


def _denylist_key(session) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:auth:sid:{session}"


def _account_key(user_id) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:auth:uid-off:{int(user_id)}"


def _access_token_seconds() -> int:
    jwt = settings.GRAPHQL_JWT
    return int(jwt["JWT_EXPIRATION_DELTA"].total_seconds() + jwt.get("JWT_LEEWAY", 0)) + 60


def _redis():
    return get_redis_connection("default")
