import datetime

import graphene

from feed import selectors

from ..core.auth import require_viewer
from ..core.connection import NEWEST_FIRST, Keyset, Page, connection_field, decode_cursor, page_size, paginate
from ..core.errors import BadUserInput
from ..core.node import parse_global_id
from ..core.selection import selected_fields
from ..users.loaders import ViewerFollows
from .loaders import FirstPosts
from .types import FEED_KEYSET, FeedConnection, Post, PostConnection, PostFilter, PostOrder, first_page


def _wants_author(info) -> bool:
    return "author" in selected_fields(info, "edges", "node")


def resolve_user_posts(user, info, first=None, after=None):
    """User.posts: newest first. The first page of every user in a list comes from one query."""
    return first_page(FirstPosts, user, info, first, after, selectors.user_posts, NEWEST_FIRST, link="author")


def _decode_feed_cursor(after: str) -> tuple:
    at, kind, entry_id = decode_cursor(after, 3)
    if not isinstance(at, datetime.datetime) or kind not in (selectors.ENTRY_POST, selectors.ENTRY_SHARE) \
            or not isinstance(entry_id, int) or isinstance(entry_id, bool):
        raise BadUserInput("The cursor is not valid.", argument="after")
    return at, kind, entry_id


class FeedQueries(graphene.ObjectType):
    post = graphene.Field(
        Post,
        id=graphene.ID(required=True, description="The post's global id."),
        description="A post by global id; null when it does not exist or was deleted.",
    )
    posts = connection_field(
        PostConnection,
        "All posts, filtered and ordered; newest first by default.",
        filter=PostFilter(description="Conditions the posts must meet."),
        order_by=PostOrder(description="The order (default: CREATED_AT DESC); ties are broken by id."),
    )
    feed = connection_field(
        FeedConnection,
        "The viewer's home feed, newest first: the viewer's own posts, posts by the users the viewer "
        "follows, and posts those users shared (then `share` on the edge says who shared it). A post "
        "appears once, at its newest entry. UNAUTHENTICATED without a token.",
    )

    @staticmethod
    def resolve_post(root, info, id):
        parsed = parse_global_id(id, "Post")
        if parsed is None:
            return None
        return selectors.post_get(parsed[1])

    @staticmethod
    def resolve_posts(root, info, first=None, after=None, filter=None, order_by=None):
        filter = filter or {}
        author_id = None
        if filter.get("author") is not None:
            parsed = parse_global_id(filter["author"], "User")
            if parsed is None:
                raise BadUserInput("`filter.author` is not a User id.", argument="filter")
            author_id = parsed[1]
        order, direction = "CREATED_AT", "DESC"
        if order_by:
            order, direction = order_by["field"], order_by["direction"]
            # graphene gives enum values or members depending on how they arrived.
            order, direction = getattr(order, "value", order), getattr(direction, "value", direction)
        listing = selectors.post_list(
            author_id=author_id,
            author_username=filter.get("author_username"),
            hashtag=filter.get("hashtag"),
            search=filter.get("search"),
            created_after=filter.get("created_after"),
            created_before=filter.get("created_before"),
            order=order,
            descending=direction == "DESC",
            with_author=_wants_author(info),
        )
        keyset = Keyset(listing.fields, listing.descending)
        return paginate(listing.queryset, keyset, first=first, after=after, node_of=listing.node_of)

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
