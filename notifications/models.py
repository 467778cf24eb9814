from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from feed.models import Post, PostLinkedQuerySet
from interactions.models import Comment


class Notification(models.Model):
    """Something someone did that concerns the recipient. Moved from interactions with its table."""

    class Kind(models.TextChoices):
        LIKE = "LIKE"
        COMMENT = "COMMENT"
        REPLY = "REPLY"
        SHARE = "SHARE"
        FOLLOW = "FOLLOW"
        MENTION = "MENTION"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = PostLinkedQuerySet.as_manager()

    class Meta:
        db_table = "interactions_notification"  # the table it had in interactions (moved without a rebuild)
        constraints = [
            models.CheckConstraint(condition=~Q(recipient=F("actor")), name="notification_not_self"),
            # Like, unlike, like again: one notification. Same for shares and follows.
            models.UniqueConstraint(
                fields=["recipient", "kind", "actor", "post"],
                condition=Q(kind__in=["LIKE", "SHARE", "FOLLOW"]),
                nulls_distinct=False,
                name="notification_once",
            ),
        ]
        indexes = [
            models.Index(F("recipient"), F("created_at").desc(), F("id").desc(), name="notification_recipient_idx"),
            models.Index(
                F("recipient"),
                F("created_at").desc(),
                F("id").desc(),
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} by {self.actor_id}"
