"""An account that is deactivated or deleted loses its open websockets at once.

Whatever path saves ``is_active=False`` (the admin, a shell) or deletes the row sends Django's model
signals; this publishes ``user_deactivated`` after the commit (common/events.py), and the websocket
layer closes that user's sockets with 4403. (Bulk ``QuerySet.update`` sends no signal: the sockets'
periodic re-check catches those.) Access tokens need nothing: every request loads the user.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from common import events

from .models import User


@receiver(post_save, sender=User, dispatch_uid="users.deactivated.saved")
def user_saved(sender, instance, created, **kwargs):
    if not instance.is_active and not created:
        events.publish("user_deactivated", user_id=instance.pk)


@receiver(post_delete, sender=User, dispatch_uid="users.deactivated.deleted")
def user_deleted(sender, instance, **kwargs):
    events.publish("user_deactivated", user_id=instance.pk)
