"""Who may change a post: the one place the rule is written (services enforce it, viewerCan* fields show it)."""

from __future__ import annotations

from users.permissions import signed_in_id

from .models import Post


def post_can_edit(user, post: Post) -> bool:
    """Only its author may edit a post."""
    uid = signed_in_id(user)
    return uid is not None and uid == post.author_id


def post_can_delete(user, post: Post) -> bool:
    """Only its author may delete a post."""
    uid = signed_in_id(user)
    return uid is not None and uid == post.author_id
