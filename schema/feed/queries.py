import graphene

from feed import selectors

from ..core import prefetch
from ..core.columns import page_left_out
from ..core.connection import Keyset, connection_field, paginate
from ..core.enums import enum_value
from ..core.errors import BadUserInput
from ..core.node import parse_global_id
from ..core.selection import selected_fields
from .types import Post, PostConnection, PostFilter, PostOrder


def _wants_author(info) -> bool:
    return "author" in selected_fields(info, "edges", "node")


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

    @staticmethod
    def resolve_post(root, info, id):
        parsed = parse_global_id(id, "Post")
        if parsed is None:
            return None
        return selectors.post_get(parsed[1])

    @staticmethod
    def resolve_posts(root, info, filter=None, order_by=None, **page):
        filter = filter or {}
        author_id = None
        if filter.get("author") is not None:
            parsed = parse_global_id(filter["author"], "User")
            if parsed is None:
                raise BadUserInput("`filter.author` is not a User id.", argument="filter")
            author_id = parsed[1]
        with_author = _wants_author(info)
        left_out = page_left_out(info.field_nodes, info.fragments, "Post", {"author": "User"} if with_author else None)
        order, direction = "CREATED_AT", "DESC"
        if order_by:
            order, direction = enum_value(order_by["field"]), enum_value(order_by["direction"])
        listing = selectors.post_list(
            author_id=author_id,
            author_username=filter.get("author_username"),
            hashtag=filter.get("hashtag"),
            search=filter.get("search"),
            created_after=filter.get("created_after"),
            created_before=filter.get("created_before"),
            order=order,
            descending=direction == "DESC",
            with_author=with_author,
            leave_out=left_out,
        )
        keyset = Keyset(listing.fields, listing.descending)
        # The unfiltered list (the public "newest posts" page) is one SQL shape per order: compiled once.
        unfiltered = not any(value is not None for value in filter.values())
        shape = ("posts", order, with_author, left_out) if unfiltered else None
        result = paginate(lambda: listing.queryset, keyset, **page, node_of=listing.node_of, shape=shape,
                          model=listing.model)
        prefetch.children(info, "Post", result.nodes, "edges", "node")
        return result
