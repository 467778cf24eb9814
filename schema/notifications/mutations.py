import graphene

from notifications import selectors, services

from ..core.auth import get_viewer
from ..core.mutations import BaseMutation
from ..core.node import decode_id


class MarkNotificationsRead(BaseMutation):
    """Marks the given notifications, or all of them, read."""

    class Input:
        ids = graphene.List(
            graphene.NonNull(graphene.ID),
            description="The notifications to mark (at most 100); leave out and set `all` to mark every one. "
            "Ids of other users' notifications are ignored.",
        )
        all = graphene.Boolean(description="Mark every notification of the viewer read.")

    unread_count = graphene.Int(required=True, description="How many notifications are still unread.")

    @classmethod
    def perform(cls, info, viewer, ids=None, all=None):  # noqa: A002 - the contract's name
        pks = None if ids is None else [decode_id(value, "Notification", "ids") for value in ids]
        return {"unread_count": services.notifications_mark_read(user=viewer, ids=pks, all=bool(all))}

    @classmethod
    def mutate(cls, root, info, input):
        result = super().mutate(root, info, input)
        if result.unread_count is None:  # refused input: still answer the (non-null) count
            result.unread_count = selectors.unread_notification_count(get_viewer(info))
        return result


class NotificationMutations(graphene.ObjectType):
    mark_notifications_read = MarkNotificationsRead.Field()
