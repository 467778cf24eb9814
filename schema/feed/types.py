"""GraphQL types of the feed domain: Post, its connections, the home feed's connection.

Resolvers never query per object: what a page's query did not join in comes from a per-request
loader (schema/feed/loaders.py), one query per page and kind of data.
"""

import graphene
from graphene import relay
from graphene_django import DjangoObjectType

from feed import selectors
from feed.models import Post as PostModel

from ..core.auth import get_viewer
from ..core.connection import NEWEST_FIRST, OLDEST_FIRST, Keyset, Page, connection_field, connection_type, \
    page_size, paginate
from ..core.loaders import then
from ..interactions.analytics import resolve_post_analytics, resolve_view_count as post_view_count
from ..users.types import User
from .loaders import FirstComments, FirstLikes, FirstShares, MentionedUsers, UserById, ViewerPostFlags


def cached_or_load(instance, field: str, loader, info):
    """``instance.<field>`` when it was joined in (select_related); else a batched load by its id."""
    if getattr(type(instance), field).is_cached(instance):
        return getattr(instance, field)
    return loader.of(info).load(getattr(instance, f"{field}_id"))


def first_page(loader, parent, info, first, after, queryset_of, keyset: Keyset, *, link: str) -> Page:
    """A nested connection of ``parent``: the first page of every parent in one query (a loader); a later
    page seeks. Each row's ``link`` foreign key is set to ``parent``, so asking for it costs nothing."""
    size = page_size(first)

    def linked(rows):
        for row in rows:
            setattr(row, link, parent)
        return rows

    if after is None:
        return then(loader.of(info).load((parent.pk, size + 1)),
                    lambda rows: Page.from_rows(linked(rows), keyset, size))
    page = paginate(queryset_of(parent.pk), keyset, first=size, after=after)
    linked(page.rows)
    return page


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
    comments = connection_field(
        lambda: _interaction_types().CommentConnection, "Top-level comments, oldest first."
    )
    likes = connection_field(lambda: _interaction_types().LikeConnection, "Who liked the post, most recent first.")
    shares = connection_field(
        lambda: _interaction_types().ShareConnection, "Who shared the post, most recent first."
    )
    analytics = graphene.Field(
        "schema.interactions.analytics.PostAnalytics",
        description="Engagement over time; only for the post's author, else null.",
    )

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.defer("search_vector").select_related("author")

    @staticmethod
    def resolve_author(post, info):
        return cached_or_load(post, "author", UserById, info)

    @staticmethod
    def resolve_mentions(post, info):
        return MentionedUsers.of(info).load(post.pk)

    @staticmethod
    def resolve_viewer_has_liked(post, info):
        return _flag(post, info, "liked")

    @staticmethod
    def resolve_viewer_has_shared(post, info):
        return _flag(post, info, "shared")

    @staticmethod
    def resolve_viewer_has_bookmarked(post, info):
        return _flag(post, info, "bookmarked")

    @staticmethod
    def resolve_viewer_can_update(post, info):
        viewer = get_viewer(info)
        return viewer is not None and viewer.pk == post.author_id

    @staticmethod
    def resolve_viewer_can_delete(post, info):
        viewer = get_viewer(info)
        return viewer is not None and viewer.pk == post.author_id

    @staticmethod
    def resolve_comments(post, info, first=None, after=None):
        return first_page(FirstComments, post, info, first, after, selectors.post_comments, OLDEST_FIRST,
                          link="post")

    @staticmethod
    def resolve_likes(post, info, first=None, after=None):
        return first_page(FirstLikes, post, info, first, after, selectors.post_likes, NEWEST_FIRST, link="post")

    @staticmethod
    def resolve_shares(post, info, first=None, after=None):
        return first_page(FirstShares, post, info, first, after, selectors.post_shares, NEWEST_FIRST, link="post")

    # Views not yet folded into view_count are still in Redis: added per page with one HMGET.
    resolve_view_count = staticmethod(post_view_count)
    resolve_analytics = staticmethod(resolve_post_analytics)


def _flag(post, info, flag: str):
    if get_viewer(info) is None:
        return False
    return ViewerPostFlags.of(info).load((flag, post.pk))


def _interaction_types():
    from ..interactions import types

    return types


PostConnection = connection_type(Post, description="A page of posts.")


# --- Query.posts arguments ---------------------------------------------------------------------
class OrderDirection(graphene.Enum):
    """A sort direction."""

    ASC = "ASC"
    DESC = "DESC"

    @property
    def description(self):
        return "Smallest first." if self == OrderDirection.ASC else "Largest (newest) first."


class PostOrderField(graphene.Enum):
    """What posts can be sorted by (ties are broken by id, in the same direction)."""

    CREATED_AT = "CREATED_AT"
    LIKE_COUNT = "LIKE_COUNT"
    COMMENT_COUNT = "COMMENT_COUNT"
    SHARE_COUNT = "SHARE_COUNT"

    @property
    def description(self):
        return {
            PostOrderField.CREATED_AT: "When the post was created.",
            PostOrderField.LIKE_COUNT: "How many likes it has.",
            PostOrderField.COMMENT_COUNT: "How many comments it has, replies included.",
            PostOrderField.SHARE_COUNT: "How many shares it has.",
        }[self]


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


# --- the home feed ---------------------------------------------------------------------------
# Entries sort by (time of the entry, kind: share before post, id); the cursor holds all three.
FEED_KEYSET = Keyset(("at", "kind", "entry_id"), descending=True)


def _resolve_feed_share(edge, info):
    return edge.row.share


FeedConnection = connection_type(
    Post,
    name="Feed",
    description="A page of the viewer's home feed.",
    edge_description="One entry of a home feed: a post, and the share that brought it in if a share did.",
    edge_fields={
        "share": graphene.Field(
            lambda: _interaction_types().Share,
            description="The share that brought the post into the feed; null when it came in by its author.",
            resolver=_resolve_feed_share,
        ),
    },
)
