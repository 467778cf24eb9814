"""The GraphQL Subscription type.

Each field's ``subscribe_<name>`` runs once when a client subscribes, as that client: it checks
arguments and authentication and returns a :class:`Topic`: the channel-layer groups to listen
to, a cheap filter on event ids, and the source that loads an event's object (once per process
and event, in the executor). Its resolver is graphene's identity resolver: each event executes
the subscriber's selection on the loaded object. See schema/realtime/operations.py.
"""

from __future__ import annotations

import graphene
from django.contrib.auth import get_user_model

from common import events
from feed import selectors
from feed.models import Post as PostModel
from interactions.models import Comment as CommentModel
from interactions.models import Share as ShareModel
from interactions.selectors import viewer_post_flags
from notifications.selectors import notifications_of
from timeline.selectors import ENTRY_POST, ENTRY_SHARE, FeedEntry
from users.selectors import follower_ids

from ..core.auth import require_viewer
from ..core.connection import Edge
from ..core.errors import BadUserInput
from ..core.node import global_id, parse_global_id
from ..feed.types import Post
from ..interactions.loaders import ViewerPostFlags
from ..interactions.types import Comment
from ..notifications.types import Notification
from ..timeline.types import FEED_KEYSET, FeedConnection
from .operations import Batch, Topic


def _pk(value: str, type_name: str, argument: str, model=None) -> int:
    """The pk of a global id argument; BAD_USER_INPUT when malformed or (given ``model``) missing."""
    parsed = parse_global_id(value, type_name)
    if parsed is None or (model is not None and not model.objects.filter(pk=parsed[1]).exists()):
        raise BadUserInput(f"No {type_name} has this id.", argument=argument)
    return parsed[1]


# --- sources: run in the executor, once per event for all the subscribers that share them ----
def _post(batch: Batch, post_id: int):
    return batch.memo(("post", post_id), lambda: selectors.post_get(post_id))


# Post fields whose answer depends on the viewer and that a loader would fetch viewer by viewer.
_FLAG_FIELDS = {"viewerHasLiked": "liked", "viewerHasShared": "shared", "viewerHasBookmarked": "bookmarked"}


def prime_viewer_flags(root, contexts, field_names):
    """The viewer flags of the event's post for every subscriber in ONE query (instead of one each)."""
    post = getattr(root, "node", root)  # a post, or a feed edge's post
    flags = [flag for name, flag in _FLAG_FIELDS.items() if name in field_names]
    viewers = {context.user.pk: context for context in contexts if context.user.is_authenticated}
    if not flags or not viewers or not isinstance(post, PostModel):
        return
    found = viewer_post_flags(list(viewers), [post.pk], flags)
    for user_id, context in viewers.items():
        loader = ViewerPostFlags.of(context)
        for flag in flags:
            loader.prime((flag, post.pk), (user_id, post.pk) in found[flag])


def post_source(batch, kind, data, subs):
    return _post(batch, data["post_id"]), subs


def deleted_post_source(batch, kind, data, subs):
    return global_id("Post", data["post_id"]), subs


def comment_source(batch, kind, data, subs):
    comment = (CommentModel.objects.select_related("author", "post", "post__author")
               .filter(pk=data["comment_id"]).first())
    return comment, subs


def notification_source(batch, kind, data, subs):
    recipient_id = data["recipient_id"]
    receivers = [sub for sub in subs if sub.viewer_id == recipient_id]
    if not receivers:
        return None, []
    notification = notifications_of(receivers[0].viewer).filter(pk=data["notification_id"]).first()
    return notification, receivers


def feed_source(batch, kind, data, subs):
    """New posts and shares, for the subscribers whose home feed they enter.

    One query per event and process, whatever the author's follower count: which of THIS
    process's feed subscribers follow the author (or sharer).
    """
    actor_id = data["author_id"] if kind == "post_created" else data["user_id"]
    viewer_ids = {sub.viewer_id for sub in subs}
    following = follower_ids(actor_id, viewer_ids - {actor_id})
    if kind == "post_created":
        following.add(actor_id)  # one's own posts are in one's feed
    receivers = [sub for sub in subs if sub.viewer_id in following]
    if not receivers:
        return None, []
    post = _post(batch, data["post_id"])
    if post is None:
        return None, []
    if kind == "post_created":
        entry = FeedEntry(post.created_at, ENTRY_POST, post.pk, post, None, False)
    else:
        share = ShareModel.objects.select_related("user").filter(pk=data["share_id"]).first()
        if share is None:
            return None, []
        share.post = post
        entry = FeedEntry(share.created_at, ENTRY_SHARE, share.pk, post, share, False)
    return Edge(FEED_KEYSET.cursor_of(entry), post, entry), receivers


class Subscription(graphene.ObjectType):
    """
    Realtime updates over a websocket at /graphql, speaking graphql-transport-ws
    (and the older graphql-ws subprotocol). Events are sent only after the change
    is committed, to every subscriber on every server process.
    """

    feed_updated = graphene.Field(
        FeedConnection.Edge, required=True,
        description="Entries arriving in the viewer's home feed. Requires authentication.",
    )
    post_created = graphene.Field(
        Post, required=True,
        author_id=graphene.ID(description="Only posts by this user (global id)."),
        hashtag=graphene.String(description="Only posts carrying this hashtag (without '#', case-insensitive)."),
        description="New posts, optionally only those by one author or carrying one hashtag.",
    )
    post_updated = graphene.Field(
        Post, required=True,
        post_id=graphene.ID(required=True, description="The post to follow (global id)."),
        description=(
            "A post's edits and live counters. Bursts are coalesced: a post liked a\n"
            "thousand times a second yields a few updates a second, each with fresh counts."
        ),
    )
    post_deleted = graphene.Field(
        graphene.ID, required=True,
        post_id=graphene.ID(description="Only this post (global id); all posts when left out."),
        description="Global ids of deleted posts: those of one post, or all when postId is left out.",
    )
    comment_added = graphene.Field(
        Comment, required=True,
        post_id=graphene.ID(required=True, description="The post whose comments to follow (global id)."),
        description="New comments and replies on a post.",
    )
    notification_received = graphene.Field(
        Notification, required=True,
        description="Notifications for the viewer. Requires authentication.",
    )

    @staticmethod
    def subscribe_feed_updated(root, info):
        require_viewer(info)
        return Topic((events.POSTS_CREATED, events.SHARES_CREATED), feed_source, prime=prime_viewer_flags)

    @staticmethod
    def subscribe_post_created(root, info, author_id=None, hashtag=None):
        author = _pk(author_id, "User", "authorId", get_user_model()) if author_id is not None else None
        tag = selectors.normalize_hashtag(hashtag) if hashtag is not None else None
        if hashtag is not None and not tag:
            raise BadUserInput("The hashtag is empty.", argument="hashtag")

        def accept(kind, data):
            return ((author is None or data.get("author_id") == author)
                    and (tag is None or tag in (data.get("hashtags") or ())))

        return Topic((events.POSTS_CREATED,), post_source, accept, prime_viewer_flags)

    @staticmethod
    def subscribe_post_updated(root, info, post_id):
        pk = _pk(post_id, "Post", "postId", PostModel)
        return Topic((events.post_updated_group(pk),), post_source, prime=prime_viewer_flags)

    @staticmethod
    def subscribe_post_deleted(root, info, post_id=None):
        pk = _pk(post_id, "Post", "postId") if post_id is not None else None
        return Topic((events.POSTS_DELETED,), deleted_post_source,
                     lambda kind, data: pk is None or data.get("post_id") == pk)

    @staticmethod
    def subscribe_comment_added(root, info, post_id):
        pk = _pk(post_id, "Post", "postId", PostModel)
        return Topic((events.comments_group(pk),), comment_source)

    @staticmethod
    def subscribe_notification_received(root, info):
        viewer = require_viewer(info)
        return Topic((events.notifications_group(viewer.pk),), notification_source)
