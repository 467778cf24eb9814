"""GraphQL types of the feed domain: Post, its connection, and Query.posts' filter and order.

Resolvers never query per object: what a page's query did not join in comes from a per-request
loader, one query per page and kind of data. Post fields whose data a higher domain owns (comments,
likes, shares, the viewer's flags, views, analytics) are declared here and resolved there, by dotted
path (schema/core/references.py).
"""

import graphene
from graphene import relay
from graphene_django import DjangoObjectType

from feed import permissions, selectors
from feed.models import Post as PostModel

from ..core.auth import get_viewer
from ..core.columns import optional_columns
from ..core.connection import NEWEST_FIRST, connection_field, connection_type, first_page
from ..core.enums import enum_of
from ..core.loaders import cached_or_load
from ..core.references import resolver
from ..users.loaders import UserById
from ..users.types import User
from .loaders import FirstPosts, MentionedUsers

_INTERACTIONS = "schema.interactions.types"
_ANALYTICS = "schema.analytics.types"


class Post(DjangoObjectType):
    """Something a user wrote."""

    class Meta:
        model = PostModel
        interfaces = (relay.Node,)
        fields = (
            "id", "body", "created_at", "updated_at", "edited_at", "hashtags",
            "like_count", "comment_count", "share_count", "view_count",
        )

    author = graphene.Field(User, required=True, description="Who wrote it.")
    body = graphene.String(required=True, description="The text, 1-2000 characters.")
    created_at = graphene.DateTime(required=True, description="When it was posted.")
    updated_at = graphene.DateTime(required=True, description="When it last changed in any way.")
    edited_at = graphene.DateTime(description="When the body was last edited; null when never.")
    hashtags = graphene.List(
        graphene.NonNull(graphene.String), required=True,
        description="Hashtags in the body, lower-cased, without '#', in order of first use.",
    )
    mentions = graphene.List(
        graphene.NonNull(User), required=True,
        description="Users mentioned as @username in the body (existing users only, by username).",
    )
    like_count = graphene.Int(required=True, description="How many users like the post.")
    comment_count = graphene.Int(required=True, description="All comments, replies included.")
    share_count = graphene.Int(required=True, description="How many users shared the post.")
    view_count = graphene.Int(required=True, description="How many times the post was seen.")
    viewer_has_liked = graphene.Boolean(required=True, description="Whether the viewer likes it; false when anonymous.")
    viewer_has_shared = graphene.Boolean(
        required=True, description="Whether the viewer shared it; false when anonymous."
    )
    viewer_has_bookmarked = graphene.Boolean(
        required=True, description="Whether the viewer bookmarked it; false when anonymous."
    )
    viewer_can_update = graphene.Boolean(required=True, description="Whether the viewer may edit it (its author).")
    viewer_can_delete = graphene.Boolean(required=True, description="Whether the viewer may delete it (its author).")
    comments = connection_field(f"{_INTERACTIONS}.CommentConnection", "Top-level comments, oldest first.")
    likes = connection_field(f"{_INTERACTIONS}.LikeConnection", "Who liked the post, most recent first.")
    shares = connection_field(f"{_INTERACTIONS}.ShareConnection", "Who shared the post, most recent first.")
    analytics = graphene.Field(
        f"{_ANALYTICS}.PostAnalytics",
        description="Engagement over time; only for the post's author, else null.",
    )

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.select_related("author")

    @staticmethod
    def resolve_author(post, info):
        return cached_or_load(post, "author", UserById, info)

    @staticmethod
    def resolve_mentions(post, info):
        return MentionedUsers.of(info).load(post.pk)

    @staticmethod
    def resolve_viewer_can_update(post, info):
        return permissions.post_can_edit(get_viewer(info), post)

    @staticmethod
    def resolve_viewer_can_delete(post, info):
        return permissions.post_can_delete(get_viewer(info), post)

    # Owned by the domains above (see schema/core/references.py).
    resolve_viewer_has_liked = resolver(f"{_INTERACTIONS}.resolve_viewer_has_liked")
    resolve_viewer_has_shared = resolver(f"{_INTERACTIONS}.resolve_viewer_has_shared")
    resolve_viewer_has_bookmarked = resolver(f"{_INTERACTIONS}.resolve_viewer_has_bookmarked")
    resolve_comments = resolver(f"{_INTERACTIONS}.resolve_post_comments")
    resolve_likes = resolver(f"{_INTERACTIONS}.resolve_post_likes")
    resolve_shares = resolver(f"{_INTERACTIONS}.resolve_post_shares")
    # Views not yet folded into view_count are still in Redis: added per page with one HMGET.
    resolve_view_count = resolver(f"{_ANALYTICS}.resolve_view_count")
    resolve_analytics = resolver(f"{_ANALYTICS}.resolve_post_analytics")


# Read only when one of these fields is selected (schema/core/columns.py): a page leaves them out otherwise.
optional_columns("Post", {"body": ("body",), "updated_at": ("updatedAt",), "edited_at": ("editedAt",),
                          "hashtags": ("hashtags",)})


PostConnection = connection_type(
    Post,
    description="A page of posts.",
    total_count="How many posts the whole list holds (all pages): the user's stored post count for "
    "`User.posts`; null for `posts` and `bookmarks`, which keep no count.",
)


def resolve_user_posts(user, info, **page):
    """User.posts: newest first. The first (or last) page of every user in a list comes from one query."""
    return first_page(FirstPosts, user, info, page, selectors.user_posts, NEWEST_FIRST, link="author",
                      total_count=user.post_count)


# --- Query.posts arguments ---------------------------------------------------------------------
class OrderDirection(graphene.Enum):
    """A sort direction."""

    ASC = "ASC"
    DESC = "DESC"

    @property
    def description(self):
        return "Smallest first." if self == OrderDirection.ASC else "Largest (newest) first."


# The orderings are feed.selectors.POST_ORDERINGS'.
PostOrderField = enum_of("PostOrderField", selectors.POST_ORDERINGS,
                         "What posts can be sorted by (ties are broken by id, in the same direction).", {
    "CREATED_AT": "When the post was created.",
    "LIKE_COUNT": "How many likes it has.",
    "COMMENT_COUNT": "How many comments it has, replies included.",
    "SHARE_COUNT": "How many shares it has.",
})


class PostFilter(graphene.InputObjectType):
    """Conditions a post must meet (all of those given)."""

    author = graphene.ID(description="Only posts by this user (global id).")
    author_username = graphene.String(description="Only posts by this username.")
    hashtag = graphene.String(description="Only posts carrying this hashtag (without '#', case-insensitive).")
    search = graphene.String(
        description="Full-text search over post bodies (English stemming; web-search syntax: "
        '"quoted phrase", -excluded, or).'
    )
    created_after = graphene.DateTime(description="Only posts created at or after this time.")
    created_before = graphene.DateTime(description="Only posts created before this time.")


class PostOrder(graphene.InputObjectType):
    """An order for posts."""

    field = PostOrderField(required=True, description="What to sort by.")
    direction = OrderDirection(required=True, description="Which way.")
