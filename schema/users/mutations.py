import calendar

import graphene
import graphql_jwt
from graphql_jwt.exceptions import JSONWebTokenError
from graphql_jwt.utils import get_payload

from common.client_address import client_address
from users import services, sessions
from users.models import User as UserModel
from users.throttle import Throttled

from ..core.auth import access_token
from ..core.errors import RateLimited
from ..core.mutations import BaseMutation
from ..core.node import decode_id, global_id as to_global_id
from .types import User


def _rate_limited(error: Throttled) -> RateLimited:
    return RateLimited(error.message, retryAfter=error.retry_after)


def _tokens(payload_type, user, session):
    """What a login or a refresh answers: the access token, its claims, the session's next refresh token."""
    token = access_token(user, session)
    payload = payload_type(payload=get_payload(token),
                           refresh_expires_in=calendar.timegm(session.expires_at().utctimetuple()))
    payload.token = token  # fields django-graphql-jwt adds to the type (not constructor arguments)
    payload.refresh_token = session.get_token()
    return payload


class Register(BaseMutation):
    """Creates an account and logs it in."""

    login_required = False

    class Input:
        username = graphene.String(required=True, description="3-30 letters, digits or underscores; unique.")
        email = graphene.String(required=True, description="A unique email address, never shown to others.")
        password = graphene.String(required=True, description="At least 8 characters, not common, not all digits.")
        display_name = graphene.String(description="The name shown to people (default: the username).")

    user = graphene.Field(User, description="The new account.")
    token = graphene.String(description="An access token for the new account.")
    refresh_token = graphene.String(description="A refresh token for the new account.")

    @classmethod
    def perform(cls, info, viewer, **data):
        try:
            user = sessions.register(address=client_address(info.context), **data)
        except Throttled as error:
            raise _rate_limited(error) from None
        info.context.user = user  # logged in from here on: the payload shows the account's own fields
        session = sessions.session_start(user)
        return {"user": user, "token": access_token(user, session), "refresh_token": session.get_token()}


class UpdateProfile(BaseMutation):
    """Changes the viewer's profile."""

    class Input:
        display_name = graphene.String(description="The name shown to people (1-50 characters).")
        bio = graphene.String(description="At most 300 characters; empty to clear.")
        avatar_url = graphene.String(description="An http(s) URL; empty to clear.")

    user = graphene.Field(User, description="The updated user.")

    @classmethod
    def perform(cls, info, viewer, **data):
        return {"user": services.user_update_profile(viewer, **data)}


def _target_user(user_id: str) -> UserModel:
    pk = decode_id(user_id, "User", "user_id")
    user = UserModel.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        from django.core.exceptions import ValidationError

        raise ValidationError({"user_id": ValidationError("No user has this id.", code="not_found")})
    return user


class _FollowAction(BaseMutation):
    """Follows or unfollows a user; answered with both users' fresh counts."""

    class Meta:
        abstract = True

    class Input:
        user_id = graphene.ID(required=True, description="The global id of the user.")

    service = None  # users.services.follow_create / follow_delete: (follower=, followee=)

    @classmethod
    def perform(cls, info, viewer, user_id):
        followee = _target_user(user_id)
        cls.service(follower=viewer, followee=followee)
        followee.refresh_from_db()
        viewer.refresh_from_db()
        return {"user": followee, "viewer": viewer}


class FollowUser(_FollowAction):
    """Follows a user; following again changes nothing."""

    user = graphene.Field(User, description="The user followed.")
    viewer = graphene.Field(User, description="The viewer, with updated counts.")
    service = staticmethod(services.follow_create)
    write_limit = "follows"


class UnfollowUser(_FollowAction):
    """Stops following a user; unfollowing again changes nothing."""

    user = graphene.Field(User, description="The user unfollowed.")
    viewer = graphene.Field(User, description="The viewer, with updated counts.")
    service = staticmethod(services.follow_delete)


class ObtainJSONWebToken(graphql_jwt.ObtainJSONWebToken):
    # django-graphql-jwt's login, through users.sessions.login (throttled before any hashing).
    # (No docstring: it would be the type's description; JWT_DESCRIPTIONS gives it.)

    @classmethod
    def mutate(cls, root, info, password, **kwargs):
        try:
            user = sessions.login(username=kwargs.get("username"), password=password,
                                  address=client_address(info.context))
        except Throttled as error:
            raise _rate_limited(error) from None
        except sessions.LoginFailed as error:
            raise JSONWebTokenError(str(error)) from None
        info.context.user = user
        return _tokens(cls, user, sessions.session_start(user))


class Refresh(graphql_jwt.Refresh):
    # django-graphql-jwt's refresh, through users.sessions.session_rotate (replay ends the session).
    # (No docstring: it would be the type's description; JWT_DESCRIPTIONS gives it.)

    @classmethod
    def mutate(cls, root, info, refresh_token=None, **kwargs):
        try:
            session = sessions.session_rotate(refresh_token)
        except sessions.InvalidRefreshToken as error:
            raise JSONWebTokenError(str(error)) from None
        return _tokens(cls, session.user, session)


class Revoke(graphql_jwt.Revoke):
    # django-graphql-jwt's revoke, through users.sessions.refresh_token_revoke (ends the session).
    # (No docstring: it would be the type's description; JWT_DESCRIPTIONS gives it.)

    @classmethod
    def mutate(cls, root, info, refresh_token=None, **kwargs):
        try:
            revoked = sessions.refresh_token_revoke(refresh_token)
        except sessions.InvalidRefreshToken as error:
            raise JSONWebTokenError(str(error)) from None
        return cls(revoked=calendar.timegm(revoked.utctimetuple()))


class DeleteAccount(BaseMutation):
    """Deletes the viewer's account; the password is asked again. Answers at once: from then on the account
    cannot log in, its tokens are refused, and it and its posts are gone from every read; its posts,
    comments, likes, shares, follows and notifications are deleted in the background within minutes."""

    class Input:
        password = graphene.String(required=True, description="The account's password, to confirm.")

    deleted_user_id = graphene.ID(description="The global id of the deleted account.")

    @classmethod
    def perform(cls, info, viewer, password):
        services.account_delete(viewer, password=password)
        return {"deleted_user_id": to_global_id("User", viewer.pk)}


class UserMutations(graphene.ObjectType):
    register = Register.Field()
    token_auth = ObtainJSONWebToken.Field(
        description="Logs in: a short-lived access token and a long-lived refresh token."
    )
    refresh_token = Refresh.Field(
        description="Trades a refresh token for a new access token and a new refresh token; "
        "the old refresh token stops working."
    )
    verify_token = graphql_jwt.Verify.Field(description="Checks an access token and returns its claims.")
    revoke_token = Revoke.Field(description="Revokes a refresh token (logs out).")
    update_profile = UpdateProfile.Field()
    follow_user = FollowUser.Field()
    unfollow_user = UnfollowUser.Field()
    delete_account = DeleteAccount.Field()


_TOKEN = "A short-lived access token (5 minutes): send it as `Authorization: Bearer <token>`."
_REFRESH = "A long-lived refresh token (7 days), good for one refreshToken call."
_PAYLOAD = "The access token's claims (username, exp, origIat)."
_REFRESH_EXPIRES = "When the refresh token expires, in seconds since the epoch."

# django-graphql-jwt builds these types and arguments without descriptions.
JWT_DESCRIPTIONS = {
    "Mutation.tokenAuth(username)": "The username, in any case.",
    "Mutation.tokenAuth(password)": "The password.",
    "Mutation.refreshToken(refreshToken)": "The refresh token to trade in; it stops working.",
    "Mutation.verifyToken(token)": "The access token to check.",
    "Mutation.revokeToken(refreshToken)": "The refresh token to revoke.",
    "ObtainJSONWebToken": "Tokens for a successful login.",
    "ObtainJSONWebToken.payload": _PAYLOAD,
    "ObtainJSONWebToken.refreshExpiresIn": _REFRESH_EXPIRES,
    "ObtainJSONWebToken.token": _TOKEN,
    "ObtainJSONWebToken.refreshToken": _REFRESH,
    "Refresh": "New tokens for an old refresh token, which no longer works.",
    "Refresh.payload": _PAYLOAD,
    "Refresh.refreshExpiresIn": _REFRESH_EXPIRES,
    "Refresh.token": _TOKEN,
    "Refresh.refreshToken": _REFRESH,
    "Verify": "The claims of a valid access token.",
    "Verify.payload": _PAYLOAD,
    "Revoke": "A revoked refresh token.",
    "Revoke.revoked": "When it was revoked, in seconds since the epoch.",
}
