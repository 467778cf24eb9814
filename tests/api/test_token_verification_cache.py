"""A token verified once is checked for expiry only at its next use in the process (schema/core/auth.py,
``jwt_decode``): an expired one is refused even so, and a change of key or a tampered token is verified again."""

import time

import jwt
import pytest
from graphql_jwt.settings import jwt_settings

from schema.core import auth


def _token(exp_in: float, key: str | None = None, **claims) -> str:
    payload = {"sub": "42", "username": "someone", "jti": "j" * 32, "exp": time.time() + exp_in, **claims}
    return jwt.encode(payload, key or jwt_settings.JWT_SECRET_KEY, algorithm=jwt_settings.JWT_ALGORITHM)


def test_a_verified_token_is_served_from_the_cache_until_it_expires(settings):
    settings.GRAPHQL_JWT = {**settings.GRAPHQL_JWT, "JWT_LEEWAY": 0}
    token = _token(1.0)
    first = auth.jwt_decode(token)
    assert auth.jwt_decode(token) == first and any(k[0] == token for k in auth._verified)
    first["sub"] = "changed"  # a caller's copy: the cache keeps its own
    assert auth.jwt_decode(token)["sub"] == "42"
    time.sleep(1.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        auth.jwt_decode(token)


def test_a_tampered_token_or_another_key_is_verified_again(settings):
    token = _token(60)
    auth.jwt_decode(token)
    header, body, signature = token.split(".")
    with pytest.raises(jwt.InvalidSignatureError):
        auth.jwt_decode(f"{header}.{body}.{signature[:-2]}AA")
    settings.GRAPHQL_JWT = {**settings.GRAPHQL_JWT, "JWT_SECRET_KEY": "another key, rotated"}
    with pytest.raises(jwt.InvalidSignatureError):
        auth.jwt_decode(token)  # signed with the old key: no longer good, cache or not
