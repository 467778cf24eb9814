import graphene

from users import selectors

from ..core.auth import get_viewer
from ..core.connection import connection_field, paginate
from .types import USERS_NEWEST, User, UserConnection


class UserQueries(graphene.ObjectType):
    viewer = graphene.Field(User, description="The authenticated user; null when the request carries no valid token.")
    user = graphene.Field(
        User,
        username=graphene.String(required=True, description="The username, in any case."),
        description="A user by username (case-insensitive); null when none.",
    )
    users = connection_field(
        UserConnection,
        "Users, newest first; `search` matches username and display name.",
        search=graphene.String(description="Text the username or display name contains (case-insensitive)."),
    )

    @staticmethod
    def resolve_viewer(root, info):
        return get_viewer(info)

    @staticmethod
    def resolve_user(root, info, username):
        return selectors.user_get_by_username(username)

    @staticmethod
    def resolve_users(root, info, search=None, **page):
        return paginate(selectors.user_list(search=search), USERS_NEWEST, **page)
