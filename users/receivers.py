"""An account that is deactivated or deleted loses its open websockets at once; a profile change ends the
response cache's content generation.

Whatever path saves ``is_active=False`` (the admin, a shell) or deletes the row sends Django's model
signals; this publishes ``user_deactivated`` after the commit (common/events.py), and the websocket
layer closes that user's sockets with 4403; the account is marked disabled in Redis
(users.sessions.account_disabled), which access tokens are checked against (schema/core/auth.py). A bulk
``QuerySet.update`` sends no signal: the sockets' periodic re-check catches those, and an access token of
such an account keeps working until it expires (5 minutes) — use ``save()``, the admin or users.services.

A saved account whose public fields changed (a profile edit through ``users.services``, any admin save)
ends the content generation of the response cache after the commit (common/response_cache_bus.py), so
no process answers the old name or bio; a login (``last_login``) or a password change does not.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from common import events, response_cache_bus

from . import sessions
from .models import User


@receiver(post_save, sender=User, dispatch_uid="users.deactivated.saved")
def user_saved(sender, instance, created, **kwargs):
    update_fields = kwargs.get("update_fields")
    if not instance.is_active and not created:
        # Marked at once, before the commit: a token is then checked against the row (which the commit
        # settles), so there is no moment after the commit when a token of the account still passes unread.
        sessions.account_disabled(instance.pk)
        events.publish("user_deactivated", user_id=instance.pk)
    elif not created and _public_fields_saved(update_fields):
        response_cache_bus.content_changed()
    if instance.is_active and not created and (update_fields is None or "is_active" in update_fields):
        user_id = instance.pk
        transaction.on_commit(lambda: sessions.account_enabled(user_id))


# Saving only these changes nothing any other viewer sees.
PRIVATE_FIELDS = frozenset({"last_login", "password", "email"})


def _public_fields_saved(update_fields) -> bool:
    return update_fields is None or not set(update_fields) <= PRIVATE_FIELDS


@receiver(post_delete, sender=User, dispatch_uid="users.deactivated.deleted")
def user_deleted(sender, instance, **kwargs):
    sessions.account_disabled(instance.pk)
    events.publish("user_deactivated", user_id=instance.pk)
