"""Permission helpers shared by the apps' permission modules (feed/permissions.py, interactions/permissions.py)."""

from __future__ import annotations


def signed_in_id(user) -> int | None:
    """The id of a signed-in user; None for no user or an anonymous one."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk
