"""Who is asking: JWT authentication for HTTP and websockets.

The token is checked once per request (HTTP) or per connection (websocket),
before execution, by :func:`authenticate`. A bad token is a top-level
UNAUTHENTICATED error; no token at all is an anonymous viewer who can still
read public data. Resolvers ask :func:`get_viewer` / :func:`require_viewer`.
"""

from __future__ import annotations

import jwt
from django.contrib.auth.models import AnonymousUser
from django.dispatch import receiver
from django.utils import timezone
from graphql_jwt.exceptions import JSONWebTokenError, JSONWebTokenExpired
from graphql_jwt.refresh_token.signals import refresh_token_rotated
from graphql_jwt.refresh_token.utils import get_refresh_token_model
from graphql_jwt.utils import get_payload, get_user_by_payload

from .errors import Unauthenticated

BEARER = "bearer"


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
    """The active user an access token names. Raises Unauthenticated, with a plain message, otherwise."""
    try:
        payload = get_payload(token)
        user = get_user_by_payload(payload)
    except JSONWebTokenExpired:
        raise Unauthenticated("The access token has expired; refresh it.") from None
    except (JSONWebTokenError, jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
        # A malformed or forged token is the caller's problem, not a 500 (a database outage still is).
        raise Unauthenticated("The access token is not valid.") from None
    if user is None:
        raise Unauthenticated("The access token's user no longer exists.")
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


@receiver(refresh_token_rotated)
def revoke_rotated_refresh_token(sender, request, refresh_token, **kwargs):
    """Rotation: the refresh token just traded in stops working.

    The revoke is one conditional UPDATE, so two concurrent refreshes with the same
    token cannot both succeed: the loser gets an error and issues nothing.
    """
    model = get_refresh_token_model()
    if not refresh_token.user.is_active:
        # graphql-jwt checks is_active for access tokens only: a deactivated account's refresh
        # tokens must not keep minting tokens (nor rotate); the token is revoked for good.
        model.objects.filter(pk=refresh_token.pk, revoked__isnull=True).update(revoked=timezone.now())
        raise JSONWebTokenError("User is disabled")
    revoked = model.objects.filter(pk=refresh_token.pk, revoked__isnull=True).update(revoked=timezone.now())
    if not revoked:
        raise JSONWebTokenError("Invalid refresh token")
    refresh_token.revoked = timezone.now()


__all__ = ["authenticate", "get_viewer", "require_viewer", "user_from_token", "token_from_header"]
