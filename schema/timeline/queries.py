"""Query.feed: the viewer's home timeline (fan-out on read), keyset-paginated by entry."""

import datetime

import graphene

from timeline import selectors

from ..core.auth import require_viewer
from ..core.connection import Page, connection_field, decode_cursor, page_size
from ..core.errors import BadUserInput
from ..users.loaders import ViewerFollows
from .types import FEED_KEYSET, FeedConnection


def _decode_feed_cursor(after: str) -> tuple:
    at, kind, entry_id = decode_cursor(after, 3)
    if not isinstance(at, datetime.datetime) or kind not in (selectors.ENTRY_POST, selectors.ENTRY_SHARE) \
            or not isinstance(entry_id, int) or isinstance(entry_id, bool):
        raise BadUserInput("The cursor is not valid.", argument="after")
    return at, kind, entry_id


class TimelineQueries(graphene.ObjectType):
    feed = connection_field(
        FeedConnection,
        "The viewer's home feed, newest first: the viewer's own posts, posts by the users the viewer "
        "follows, and posts those users shared (then `share` on the edge says who shared it). A post "
        "appears once, at its newest entry. UNAUTHENTICATED without a token.",
    )

    @staticmethod
    def resolve_feed(root, info, first=None, after=None):
        viewer = require_viewer(info)
        size = page_size(first)
        cursor = _decode_feed_cursor(after) if after else None
        entries = selectors.home_feed(viewer, limit=size + 1, after=cursor)
        # The feed query knows which authors the viewer follows: User.viewerIsFollowing costs nothing.
        follows = ViewerFollows.of(info)
        for entry in entries:
            follows.prime(entry.post.author_id, entry.author_followed)
            if entry.share is not None:
                follows.prime(entry.share.user_id, True)
        return Page.from_rows(entries, FEED_KEYSET, size, after=after, node_of=lambda entry: entry.post)
