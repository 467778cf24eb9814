import graphene
from graphene import relay
from graphene_django import DjangoObjectType

from users import selectors
from users.models import User as UserModel

from ..core.auth import get_viewer
from ..core.columns import optional_columns
from ..core.connection import NEWEST_FIRST, Keyset, connection_field, connection_type, first_page
from ..core.references import resolver
from .loaders import FirstFollowers, FirstFollowing, FollowsViewer, ViewerFollows


class User(DjangoObjectType):
    """A person using the service."""

    class Meta:
        model = UserModel
        interfaces = (relay.Node,)
        fields = ("id", "username", "bio", "date_joined", "post_count", "follower_count", "following_count")

    username = graphene.String(required=True, description="Unique, case-insensitively; 3-30 of [A-Za-z0-9_].")
    display_name = graphene.String(required=True, description="The name shown to people.")
    bio = graphene.String(required=True, description="A short self-description (at most 300 characters).")
    avatar_url = graphene.String(description="The picture's URL; null when none is set.")
    email = graphene.String(description="Only for the viewer's own user; null for everyone else.")
    date_joined = graphene.DateTime(required=True, description="When the account was created.")
    post_count = graphene.Int(required=True, description="How many posts this user has.")
    follower_count = graphene.Int(required=True, description="How many users follow this user.")
    following_count = graphene.Int(required=True, description="How many users this user follows.")
    viewer_is_following = graphene.Boolean(
        required=True, description="Whether the viewer follows this user; false when anonymous."
    )
    is_following_viewer = graphene.Boolean(
        required=True, description="Whether this user follows the viewer; false when anonymous."
    )
    posts = connection_field("schema.feed.types.PostConnection", "This user's posts, newest first.")
    followers = connection_field(lambda: UserConnection, "Who follows this user, most recent follow first.")
    following = connection_field(lambda: UserConnection, "Whom this user follows, most recent follow first.")
    analytics = graphene.Field(
        "schema.analytics.types.UserAnalytics",
        description="Engagement with this user's posts; only for the viewer's own user, else null.",
    )

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.filter(is_active=True)

    @staticmethod
    def resolve_display_name(user, info):
        return user.display_name or user.username

    @staticmethod
    def resolve_avatar_url(user, info):
        return user.avatar_url or None

    @staticmethod
    def resolve_email(user, info):
        viewer = get_viewer(info)
        # The viewer's own, loaded whole: a joined author leaves its email out (common/joins.py).
        return viewer.email if viewer is not None and viewer.pk == user.pk else None

    @staticmethod
    def resolve_viewer_is_following(user, info):
        if get_viewer(info) is None:
            return False
        return ViewerFollows.of(info).load(user.pk)

    @staticmethod
    def resolve_is_following_viewer(user, info):
        if get_viewer(info) is None:
            return False
        return FollowsViewer.of(info).load(user.pk)

    @staticmethod
    def resolve_followers(user, info, **page):
        # First pages of every user on a level of the result in one LATERAL query (FirstRows), not one each.
        return first_page(FirstFollowers, user, info, page, selectors.followers_of, NEWEST_FIRST, link="followee",
                          node_of=lambda follow: follow.follower, total_count=user.follower_count)

    @staticmethod
    def resolve_following(user, info, **page):
        return first_page(FirstFollowing, user, info, page, selectors.following_of, NEWEST_FIRST, link="follower",
                          node_of=lambda follow: follow.followee, total_count=user.following_count)

    # Owned by the domains above (see schema/core/references.py).
    resolve_posts = resolver("schema.feed.types.resolve_user_posts")
    resolve_analytics = resolver("schema.analytics.types.resolve_user_analytics")


# Read only when one of these fields is selected (schema/core/columns.py): a joined author leaves them out otherwise.
optional_columns("User", {"display_name": ("displayName",), "bio": ("bio",), "avatar_url": ("avatarUrl",),
                          "date_joined": ("dateJoined", "analytics")})


UserConnection = connection_type(
    User,
    description="A page of users.",
    total_count="How many users the whole list holds (all pages), from the stored follower or following "
    "count; null for `users`, which keeps no count.",
)


# Query.users: newest account first.
USERS_NEWEST = Keyset(("date_joined", "id"), descending=True)
