"""GraphQL types of interactions (read side): Comment, Like, Share and their connections, and the
Post fields interactions own (comments, likes, shares, viewerHasLiked/Shared/Bookmarked; declared on
Post in schema/feed/types.py).

The mutations that create them (schema/interactions/mutations.py) return these types.
"""

import graphene
from graphene import relay
from graphene_django import DjangoObjectType

from feed.models import Post as PostModel
from interactions import permissions, selectors
from interactions.models import Comment as CommentModel
from interactions.models import Like as LikeModel
from interactions.models import Share as ShareModel

from ..core.auth import get_viewer
from ..core.columns import optional_columns
from ..core import prefetch
from ..core.connection import (NEWEST_FIRST, OLDEST_FIRST, connection_field, connection_type, first_page,
                               page_args)
from ..core.loaders import cached_or_load, then
from ..feed.loaders import PostById
from ..feed.types import Post
from ..users.loaders import UserById
from ..users.types import User
from .loaders import CommentById, FirstComments, FirstLikes, FirstReplies, FirstShares, ViewerPostFlags


class Comment(DjangoObjectType):
    """A reply to a post, or to another comment on it."""

    class Meta:
        model = CommentModel
        interfaces = (relay.Node,)
        fields = ("id", "body", "created_at", "edited_at", "reply_count")

    post = graphene.Field(Post, required=True, description="The post commented on.")
    author = graphene.Field(User, required=True, description="Who wrote it.")
    parent = graphene.Field(lambda: Comment, description="The comment this one replies to; null for a top-level comment.")
    body = graphene.String(required=True, description="The text, 1-1000 characters.")
    created_at = graphene.DateTime(required=True, description="When it was written.")
    edited_at = graphene.DateTime(description="When it was last edited; null when never.")
    reply_count = graphene.Int(required=True, description="How many direct replies it has.")
    replies = connection_field(lambda: CommentConnection, "Direct replies, oldest first.")
    viewer_can_update = graphene.Boolean(required=True, description="Whether the viewer may edit it (its author).")
    viewer_can_delete = graphene.Boolean(
        required=True, description="Whether the viewer may delete it (its author or the post's author)."
    )

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.on_visible_posts(queryset).select_related("author")

    @staticmethod
    def resolve_post(comment, info):
        return cached_or_load(comment, "post", PostById, info)

    @staticmethod
    def resolve_author(comment, info):
        return cached_or_load(comment, "author", UserById, info)

    @staticmethod
    def resolve_parent(comment, info):
        if comment.parent_id is None:
            return None
        return cached_or_load(comment, "parent", CommentById, info)

    @staticmethod
    def resolve_replies(comment, info, **page):
        return first_page(FirstReplies, comment, info, page, selectors.comment_replies, OLDEST_FIRST,
                          link="parent", total_count=comment.reply_count)

    @staticmethod
    def resolve_viewer_can_update(comment, info):
        return permissions.comment_can_edit(get_viewer(info), comment)

    @staticmethod
    def resolve_viewer_can_delete(comment, info):
        viewer = get_viewer(info)
        if viewer is None:
            return False
        # The rule reads the comment's post: joined in, or loaded with the page's other comments' posts.
        post = cached_or_load(comment, "post", PostById, info)
        if isinstance(post, PostModel):
            return permissions.comment_can_delete(viewer, comment, post)
        return then(post, lambda loaded: loaded is not None
                    and permissions.comment_can_delete(viewer, comment, loaded))


# Read only when one of these fields is selected (schema/core/columns.py): a page of comments leaves them out otherwise.
optional_columns("Comment", {"body": ("body",), "edited_at": ("editedAt",)})


class _ByUserOnPost:
    """Resolvers shared by Like and Share: a user's relation to a post, joined in or loaded by id."""

    @classmethod
    def get_queryset(cls, queryset, info):
        return selectors.on_visible_posts(queryset).select_related("user")

    @staticmethod
    def resolve_user(row, info):
        return cached_or_load(row, "user", UserById, info)

    @staticmethod
    def resolve_post(row, info):
        return cached_or_load(row, "post", PostById, info)


class Like(_ByUserOnPost, DjangoObjectType):
    """A user liking a post."""

    class Meta:
        model = LikeModel
        interfaces = (relay.Node,)
        fields = ("id", "created_at")

    user = graphene.Field(User, required=True, description="Who liked the post.")
    post = graphene.Field(Post, required=True, description="The post liked.")
    created_at = graphene.DateTime(required=True, description="When.")


class Share(_ByUserOnPost, DjangoObjectType):
    """A user passing a post on to their followers, with an optional comment."""

    class Meta:
        model = ShareModel
        interfaces = (relay.Node,)
        fields = ("id", "comment", "created_at")

    user = graphene.Field(User, required=True, description="Who shared the post.")
    post = graphene.Field(Post, required=True, description="The post shared.")
    comment = graphene.String(required=True, description="What the sharer said about it (0-500 characters).")
    created_at = graphene.DateTime(required=True, description="When.")


CommentConnection = connection_type(
    Comment,
    description="A page of comments.",
    total_count="How many comments the whole list holds (all pages): the comment's stored reply count for "
    "`Comment.replies`; null for `Post.comments` (no count of top-level comments is kept; `Post.commentCount` "
    "counts replies too).",
)
LikeConnection = connection_type(
    Like, description="A page of likes.", total_count_required=True,
    total_count="How many users like the post, all pages (its stored like count, as `Post.likeCount`).",
)
ShareConnection = connection_type(
    Share, description="A page of shares.", total_count_required=True,
    total_count="How many users shared the post, all pages (its stored share count, as `Post.shareCount`).",
)


# --- Post fields owned by interactions (declared on schema.feed.types.Post) --------------------
def resolve_post_comments(post, info, **page):
    return first_page(FirstComments, post, info, page, selectors.post_comments, OLDEST_FIRST, link="post")


def resolve_post_likes(post, info, **page):
    return first_page(FirstLikes, post, info, page, selectors.post_likes, NEWEST_FIRST, link="post",
                      total_count=post.like_count)


def resolve_post_shares(post, info, **page):
    return first_page(FirstShares, post, info, page, selectors.post_shares, NEWEST_FIRST, link="post",
                      total_count=post.share_count)


def _viewer_flag(flag: str):
    def resolve(post, info):
        if get_viewer(info) is None:
            return False
        return ViewerPostFlags.of(info).load((flag, post.pk))

    resolve.__name__ = f"resolve_viewer_has_{flag}"
    return resolve


# What a prefetched comment may select (nothing that loads): field -> what may be selected under it.
_PLAIN_COMMENT = {"__typename": None, "id": None, "body": None, "createdAt": None, "editedAt": None,
                  "replyCount": None,
                  "author": {"__typename": None, "id": None, "username": None, "displayName": None, "avatarUrl": None}}


@prefetch.register("Post")
def _prefetch_post_interactions(info, posts, fields) -> None:
    """With a page of posts: their first comments (the FirstComments batch) and the viewer's flags on them (the
    ViewerPostFlags batch: one query for every flag selected), as the resolvers below would load them."""
    for node in fields.get("comments", ()):
        # Only plain comments: with nested lists or loaders under them, loading them early could split a
        # batch those would otherwise share (one statement more on some pages).
        args = page_args(**prefetch.arguments(info, "Post", node))
        if not args.bounded and prefetch.selects_only(info, node, _PLAIN_COMMENT, "edges", "node"):
            first = FirstComments.of(info)
            left_out = first.left_out([node], info.fragments)
            first.prefetch([(post.pk, args.size + 1, args.backward, left_out) for post in posts])
    flags = [flag for flag, name in (("liked", "viewerHasLiked"), ("shared", "viewerHasShared"),
                                     ("bookmarked", "viewerHasBookmarked")) if name in fields]
    if flags and get_viewer(info) is not None:
        ViewerPostFlags.of(info).prefetch([(flag, post.pk) for flag in flags for post in posts])


resolve_viewer_has_liked = _viewer_flag("liked")
resolve_viewer_has_shared = _viewer_flag("shared")
resolve_viewer_has_bookmarked = _viewer_flag("bookmarked")
