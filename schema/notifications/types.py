"""GraphQL types of notifications: Notification, NotificationKind, NotificationConnection.

A page of notifications is one SQL query: the actor, the post (with its author) and the
comment are joined in by the ``notifications_of`` selector.
"""

import graphene
from graphene import relay
from graphene_django import DjangoObjectType

from notifications.models import Notification as NotificationModel

from ..core.connection import connection_type
from ..core.enums import enum_of
from ..core.loaders import cached_or_load
from ..feed.loaders import PostById
from ..feed.types import Post
from ..interactions.loaders import CommentById
from ..interactions.types import Comment
from ..users.loaders import UserById
from ..users.types import User

_Kind = NotificationModel.Kind
NotificationKind = enum_of("NotificationKind", _Kind, "What happened.", {
    _Kind.LIKE: "The actor liked your post (once per actor and post, even if liked again).",
    _Kind.COMMENT: "The actor commented on your post (`comment` is the new comment).",
    _Kind.REPLY: "The actor replied to your comment (`comment` is the reply).",
    _Kind.SHARE: "The actor shared your post (once per actor and post).",
    _Kind.FOLLOW: "The actor followed you (once per actor).",
    _Kind.MENTION: "The actor mentioned you in a post, or in a comment (`comment` set).",
})


class Notification(DjangoObjectType):
    """Something that happened to the viewer's posts, comments or account. Nobody is notified of their own actions."""

    class Meta:
        model = NotificationModel
        interfaces = (relay.Node,)
        fields = ("id", "created_at")

    kind = graphene.Field(NotificationKind, required=True, description="What happened.")
    actor = graphene.Field(User, required=True, description="Who did it.")
    post = graphene.Field(Post, description="The post concerned; null for FOLLOW.")
    comment = graphene.Field(
        Comment, description="The comment concerned (COMMENT, REPLY, MENTION in a comment); else null."
    )
    created_at = graphene.DateTime(required=True, description="When it happened.")
    read = graphene.Boolean(required=True, description="Whether the viewer marked it read.")
    read_at = graphene.DateTime(description="When it was marked read; null while unread.")

    @classmethod
    def get_queryset(cls, queryset, info):
        # `node(id:)` shows a notification to its recipient only. (The node loader passes the
        # request context rather than a ResolveInfo.)
        context = getattr(info, "context", info)
        user = getattr(context, "user", None)
        viewer = user if user is not None and user.is_authenticated else None
        if viewer is None:
            return queryset.none()
        return queryset.filter(recipient=viewer).select_related("actor")

    @staticmethod
    def resolve_kind(notification, info):
        return notification.kind

    @staticmethod
    def resolve_actor(notification, info):
        return cached_or_load(notification, "actor", UserById, info)

    @staticmethod
    def resolve_post(notification, info):
        if notification.post_id is None:
            return None
        return cached_or_load(notification, "post", PostById, info)

    @staticmethod
    def resolve_comment(notification, info):
        if notification.comment_id is None:
            return None
        return cached_or_load(notification, "comment", CommentById, info)

    @staticmethod
    def resolve_read(notification, info):
        return notification.read_at is not None


NotificationConnection = connection_type(Notification, description="A page of notifications, newest first.")
