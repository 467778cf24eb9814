"""Who is asking: JWT authentication for HTTP and websockets.

The token is checked once per request (HTTP) or per connection (websocket),
before execution, by :func:`authenticate`. A bad token is a top-level
UNAUTHENTICATED error; no token at all is an anonymous viewer who can still
read public data. Resolvers ask :func:`get_viewer` / :func:`require_viewer`.

Access tokens (signed here; ``GRAPHQL_JWT`` in config/settings.py names the two handlers below):
``sub`` the user's id, ``username``, ``jti`` a token id, ``sid`` the login session
(users/sessions.py: the refresh tokens' chain), ``exp`` and ``origIat``. A token is accepted only
if every claim has its type, ``exp`` is a number, the user with that id exists and is active (a
deleted account's token does not pass to a new account of the same name), and its session has not
ended (logout, refresh-token replay: a denylist in Redis).

A token with a session (every login's) is checked in Redis alone: the session's denylist entry and the
account's disabled mark (users/sessions.py ``token_still_good``; deactivating or deleting an account sets
it, users/receivers.py). The viewer is then ``User.from_token(id)``: no users-table read unless a resolver
asks for more than the id (the first such read loads the row). Without Redis, or for a token without a
session, the row is read and checked as before.
"""

from __future__ import annotations

import datetime
import time
import uuid

import jwt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from graphql_jwt.exceptions import JSONWebTokenError, JSONWebTokenExpired
from graphql_jwt.settings import jwt_settings
from graphql_jwt.shortcuts import get_token
from graphql_jwt.utils import get_payload

from users import sessions

from .errors import Unauthenticated

BEARER = "bearer"
_MAX_ID = 2**63 - 1


def jwt_payload(user, context=None) -> dict:
    """The claims of a new access token (``JWT_PAYLOAD_HANDLER``); ``sid`` is added by :func:`access_token`."""
    now = int(time.time())
    return {
        "sub": str(user.pk),
        "username": user.get_username(),
        "jti": uuid.uuid4().hex,
        "exp": now + int(jwt_settings.JWT_EXPIRATION_DELTA.total_seconds()),
        "origIat": now,
    }


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Tokens already verified by this process: (token, key, algorithm) -> payload. A client sends the same token
# with every request until it expires; its signature and claims need checking once (PyJWT: ~0.1 ms), its expiry
# every time. Bounded: cleared when full.
_VERIFIED_MAX = 4096
_verified: dict[tuple, dict] = {}


def jwt_decode(token, context=None) -> dict:
    """``JWT_DECODE_HANDLER``: the signature, ``exp`` (required, a number) and every claim's type; a token
    this process verified before is checked for expiry only (see _verified)."""
    key = jwt_settings.JWT_PUBLIC_KEY or jwt_settings.JWT_SECRET_KEY
    cache_key = (token, key, jwt_settings.JWT_ALGORITHM)
    known = _verified.get(cache_key)
    if known is not None:
        leeway = jwt_settings.JWT_LEEWAY
        leeway = leeway.total_seconds() if isinstance(leeway, datetime.timedelta) else leeway
        if known["exp"] <= time.time() - leeway:  # PyJWT's rule
            del _verified[cache_key]
            raise jwt.ExpiredSignatureError("Signature has expired")
        return dict(known)
    payload = _verify(token, key)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[cache_key] = payload
    return dict(payload)


def _verify(token, key) -> dict:
    payload = jwt.decode(
        token,
        key,
        algorithms=[jwt_settings.JWT_ALGORITHM],
        options={"require": ["exp", "sub", "jti"], "verify_exp": True},
        leeway=jwt_settings.JWT_LEEWAY,
    )
    sub = payload.get("sub")
    if not _number(payload.get("exp")):
        raise jwt.InvalidTokenError("exp must be a number")
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and len(sub) <= 19 and int(sub) <= _MAX_ID):
        raise jwt.InvalidTokenError("sub must be a user id")
    if not isinstance(payload.get("username"), str) or not isinstance(payload.get("jti"), str):
        raise jwt.InvalidTokenError("username and jti must be strings")
    if "sid" in payload and not (isinstance(payload["sid"], str) and _uuid(payload["sid"])):
        raise jwt.InvalidTokenError("sid must be a session id")
    if "origIat" in payload and not _number(payload["origIat"]):
        raise jwt.InvalidTokenError("origIat must be a number")
    return payload


def _uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def access_token(user, session) -> str:
    """A signed access token for ``user`` in the login session ``session`` (a users.RefreshToken)."""
    return get_token(user, sid=str(session.session))


def token_from_header(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is no header.

    Raises Unauthenticated for a header that is present but not of that form.
    """
    if not value or not value.strip():
        return None
    parts = value.split()
    if len(parts) != 2 or parts[0].lower() != BEARER:
        raise Unauthenticated('The Authorization header must be "Bearer <access token>".')
    return parts[1]


def user_from_token(token: str):
    """The active user an access token names. Raises Unauthenticated, with a plain message, otherwise.

    The user carries the token's session id as ``auth_session_id`` (None for a token minted without
    a login, e.g. by tests), so a websocket can be closed when that session ends.
    """
    try:
        payload = get_payload(token)
    except JSONWebTokenExpired:
        raise Unauthenticated("The access token has expired; refresh it.") from None
    except (JSONWebTokenError, jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
        # A malformed or forged token is the caller's problem, not a 500 (a database outage still is).
        raise Unauthenticated("The access token is not valid.") from None
    user_id = int(payload["sub"])
    session = payload.get("sid")
    if session is not None:
        # A login's token: one Redis round trip says whether its session ended or its account was disabled
        # since; the users table is read only when a resolver needs more of the viewer than the id.
        # A mark says "maybe": the row and the session are then checked below (a mark set by a transaction
        # that rolled back only costs that read).
        if sessions.token_still_good(session, user_id):
            user = get_user_model().from_token(user_id)
            user.auth_session_id = session
            return user
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise Unauthenticated("The access token's user no longer exists.")
    if not user.is_active:
        raise Unauthenticated("The access token is not valid.")
    if session is not None and sessions.session_is_ended(session):
        raise Unauthenticated("The access token's session has ended; log in again.")
    user.auth_session_id = session
    return user


def authenticate(authorization: str | None):
    """The user for an Authorization value, AnonymousUser without one; raises Unauthenticated."""
    token = token_from_header(authorization)
    if token is None:
        return AnonymousUser()
    return user_from_token(token)


def get_viewer(info):
    """The authenticated user, or None for an anonymous request."""
    user = getattr(info.context, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user


def require_viewer(info):
    user = get_viewer(info)
    if user is None:
        raise Unauthenticated()
    return user


__all__ = ["access_token", "authenticate", "get_viewer", "jwt_decode", "jwt_payload", "require_viewer",
           "token_from_header", "user_from_token"]
