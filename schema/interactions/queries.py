import graphene

from interactions import selectors

from ..core.auth import get_viewer
from ..core.connection import NEWEST_FIRST, connection_field, paginate
from ..core.errors import Unauthenticated
from ..feed.types import PostConnection
from .notifications import NotificationConnection


def _viewer(info):
    viewer = get_viewer(info)
    if viewer is None:
        raise Unauthenticated()
    return viewer


class InteractionQueries(graphene.ObjectType):
    notifications = connection_field(
        NotificationConnection,
        "The viewer's notifications, newest first. UNAUTHENTICATED without a token.",
        unread_only=graphene.Boolean(description="Only those not yet marked read (default false)."),
    )
    unread_notification_count = graphene.Int(
        required=True, description="How many of the viewer's notifications are unread. UNAUTHENTICATED without a token."
    )
    bookmarks = connection_field(
        PostConnection,
        "Posts the viewer bookmarked, most recently bookmarked first. UNAUTHENTICATED without a token.",
    )

    @staticmethod
    def resolve_notifications(root, info, first=None, after=None, unread_only=None):
        viewer = _viewer(info)
        return paginate(selectors.notifications_of(viewer, unread_only=bool(unread_only)), NEWEST_FIRST,
                        first=first, after=after)

    @staticmethod
    def resolve_unread_notification_count(root, info):
        return selectors.unread_notification_count(_viewer(info))

    @staticmethod
    def resolve_bookmarks(root, info, first=None, after=None):
        viewer = _viewer(info)
        # The cursor is the bookmark's (created_at, id): most recently bookmarked first.
        return paginate(selectors.bookmarks_of(viewer), NEWEST_FIRST, first=first, after=after,
                        node_of=lambda bookmark: bookmark.post)
