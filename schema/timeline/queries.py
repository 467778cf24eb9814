"""Query.feed: the viewer's home timeline (fan-out on read), keyset-paginated by entry."""

import datetime

import graphene

from timeline import selectors

from ..core import prefetch
from ..core.auth import require_viewer
from ..core.connection import Page, connection_field, decode_cursor, page_args
from ..core.errors import BadUserInput
from ..users.loaders import ViewerFollows
from .types import FEED_KEYSET, FeedConnection


def _decode_feed_cursor(cursor: str | None, argument: str) -> tuple | None:
    if cursor is None:
        return None
    at, kind, entry_id = decode_cursor(cursor, 3, argument)
    if not isinstance(at, datetime.datetime) or at.tzinfo is None \
            or kind not in (selectors.ENTRY_POST, selectors.ENTRY_SHARE) \
            or not isinstance(entry_id, int) or isinstance(entry_id, bool) or not -2**63 <= entry_id < 2**63:
        raise BadUserInput("The cursor is not valid.", argument=argument)
    return at, kind, entry_id


class TimelineQueries(graphene.ObjectType):
    feed = connection_field(
        FeedConnection,
        "The viewer's home feed, newest first: the viewer's own posts, posts by the users the viewer "
        "follows, and posts those users shared (then `share` on the edge says who shared it). A post "
        "appears once, at its newest entry. UNAUTHENTICATED without a token.",
    )

    @staticmethod
    def resolve_feed(root, info, **page):
        viewer = require_viewer(info)
        args = page_args(**page)
        entries = selectors.home_feed(viewer, limit=args.size + 1, after=_decode_feed_cursor(args.after, "after"),
                                      before=_decode_feed_cursor(args.before, "before"), backward=args.backward)
        # The feed query knows which authors the viewer follows: User.viewerIsFollowing costs nothing.
        follows = ViewerFollows.of(info)
        for entry in entries:
            follows.prime(entry.post.author_id, entry.author_followed)
            if entry.share is not None:
                follows.prime(entry.share.user_id, True)
        page = Page.from_rows(entries, FEED_KEYSET, args, node_of=lambda entry: entry.post)
        prefetch.children(info, "Post", page.nodes, "edges", "node")
        return page
