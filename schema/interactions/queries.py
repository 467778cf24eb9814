import graphene

from interactions import selectors

from ..core.auth import require_viewer
from ..core.connection import NEWEST_FIRST, connection_field, paginate
from ..feed.types import PostConnection


class InteractionQueries(graphene.ObjectType):
    bookmarks = connection_field(
        PostConnection,
        "Posts the viewer bookmarked, most recently bookmarked first. UNAUTHENTICATED without a token.",
    )

    @staticmethod
    def resolve_bookmarks(root, info, **page):
        viewer = require_viewer(info)
        # The cursor is the bookmark's (created_at, id): most recently bookmarked first.
        return paginate(selectors.bookmarks_of(viewer), NEWEST_FIRST, **page, node_of=lambda bookmark: bookmark.post)
