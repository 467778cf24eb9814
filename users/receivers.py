"""An account that is deactivated or deleted loses its open websockets at once; a profile change ends the
response cache's content generation.

Whatever path saves ``is_active=False`` (the admin, a shell) or deletes the row sends Django's model
signals; this publishes ``user_deactivated`` after the commit (common/events.py), and the websocket
layer closes that user's sockets with 4403. (Bulk ``QuerySet.update`` sends no signal: the sockets'
periodic re-check catches those.) Access tokens need nothing: every request loads the user.

A saved account whose public fields changed (a profile edit through ``users.services``, any admin save)
ends the content generation of the response cache after the commit (common/response_cache_bus.py), so
no process answers the old name or bio; a login (``last_login``) or a password change does not.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from common import events, response_cache_bus

from .models import User


@receiver(post_save, sender=User, dispatch_uid="users.deactivated.saved")
def user_saved(sender, instance, created, **kwargs):
    if not instance.is_active and not created:
        events.publish("user_deactivated", user_id=instance.pk)
    elif not created and _public_fields_saved(kwargs.get("update_fields")):
        response_cache_bus.content_changed()


# Saving only these changes nothing any other viewer sees.
PRIVATE_FIELDS = frozenset({"last_login", "password", "email"})


def _public_fields_saved(update_fields) -> bool:
    return update_fields is None or not set(update_fields) <= PRIVATE_FIELDS


@receiver(post_delete, sender=User, dispatch_uid="users.deactivated.deleted")
def user_deleted(sender, instance, **kwargs):
    events.publish("user_deactivated", user_id=instance.pk)
