"""GraphQL types of the home timeline: the `feed` connection (FeedConnection, FeedEdge)."""

import graphene

from ..core.connection import Keyset, connection_type
from ..feed.types import Post
from ..interactions.types import Share

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
            Share,
            description="The share that brought the post into the feed; null when it came in by its author.",
            resolver=_resolve_feed_share,
        ),
    },
)
