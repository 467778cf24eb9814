"""Who may change a comment: the one place the rule is written (services enforce it, viewerCan* fields show it)."""

from __future__ import annotations

from feed.models import Post
from users.permissions import signed_in_id

from .models import Comment


def comment_can_edit(user, comment: Comment) -> bool:
    """Only its author may edit a comment."""
    uid = signed_in_id(user)
    return uid is not None and uid == comment.author_id


def comment_can_delete(user, comment: Comment, post: Post | None = None) -> bool:
    """Its author, or the author of the post it is on, may delete a comment.

    ``post``: the comment's post when the caller loaded it separately (a dataloader); otherwise
    ``comment.post`` is read (join it in with select_related("post") to save a query). Its author
    decides without the post.
    """
    uid = signed_in_id(user)
    if uid is None:
        return False
    if uid == comment.author_id:
        return True
    post = post if post is not None else comment.post
    return post is not None and uid == post.author_id
