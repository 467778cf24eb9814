import graphene

from notifications import selectors

from ..core.auth import require_viewer
from ..core.connection import NEWEST_FIRST, connection_field, paginate
from .types import NotificationConnection


class NotificationQueries(graphene.ObjectType):
    notifications = connection_field(
        NotificationConnection,
        "The viewer's notifications, newest first. UNAUTHENTICATED without a token.",
        unread_only=graphene.Boolean(description="Only those not yet marked read (default false)."),
    )
    unread_notification_count = graphene.Int(
        required=True, description="How many of the viewer's notifications are unread. UNAUTHENTICATED without a token."
    )

    @staticmethod
    def resolve_notifications(root, info, unread_only=None, **page):
        viewer = require_viewer(info)
        return paginate(selectors.notifications_of(viewer, unread_only=bool(unread_only)), NEWEST_FIRST, **page)

    @staticmethod
    def resolve_unread_notification_count(root, info):
        return selectors.unread_notification_count(require_viewer(info))
