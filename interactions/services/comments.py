"""Comments and replies: create, edit, delete (a whole thread, set-based).

Lock order: the post row FIRST (create and delete), then comment rows. Holding the post lock keeps
a thread stable while a subtree is deleted, so a reply can never be inserted under a comment being
deleted. Nothing that holds a post lock ever waits for a like/share row, so this order and the
likes' (row first, post last) cannot form a cycle.

Notifications (REPLY, COMMENT, MENTION) answer ``comment_created`` / ``comment_mentions_added`` and
``comments_deleting`` in the transaction; analytics counts ``interaction_counted``.
"""

from __future__ import annotations

from collections import Counter
from datetime import timezone as dt_timezone

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from common import response_cache_bus
from common.events import publish
from common.validation import clean_text
from feed.parsing import parse_mentions
from users.models import User
from users.selectors import users_by_mentions

from ..models import COMMENT_BODY_MAX, Comment
from ..permissions import comment_can_delete, comment_can_edit
from ..signals import comment_created, comment_mentions_added, comments_deleting, interaction_counted
from ._rows import COMMENT_TABLE, POST_TABLE, atomic_or_not_found, bump_post, not_found

# At most this many distinct names of a comment are looked up as mentions.
MENTIONS_MAX = 50


def _mentioned_user_ids(text: str) -> list[int]:
    return users_by_mentions(parse_mentions(text)[:MENTIONS_MAX])


def _clean_comment_body(body: str | None) -> str:
    return clean_text(body, field="body", max_length=COMMENT_BODY_MAX, label="A comment",
                      required="A comment cannot be empty.")


def comment_create(*, author: User, post_id: int, body: str, parent_id: int | None = None) -> Comment:
    """Comments on a post, or replies to ``parent_id`` (a comment on the same post).

    Notifies (``comment_created``) the parent's author (REPLY), the post's author (COMMENT) and the
    users mentioned (MENTION): one notification per person, in that order of precedence, never the
    commenter.
    """
    body = _clean_comment_body(body)
    mentioned = _mentioned_user_ids(body)

    def run():
        # The post row first (see the module's lock order), with its counter.
        post_author_id = bump_post(post_id, "comment_count", +1)
        parent_author_id = None
        if parent_id is not None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {COMMENT_TABLE} SET reply_count = reply_count + 1 "
                    "WHERE id = %s AND post_id = %s RETURNING author_id",
                    [parent_id, post_id],
                )
                row = cursor.fetchone()
            if row is None:
                if Comment.objects.filter(pk=parent_id).exists():
                    raise ValidationError({"parent_id": ValidationError(
                        "The comment replied to is on another post.", code="invalid")})
                raise not_found("parent_id", "Comment")
            parent_author_id = row[0]
        comment = Comment.objects.create(post_id=post_id, author=author, parent_id=parent_id, body=body)
        comment_created.send(Comment, comment=comment, post_author_id=post_author_id,
                             parent_author_id=parent_author_id, mentioned_user_ids=mentioned)
        interaction_counted.send(Comment, post_id=post_id, post_author_id=post_author_id, kind="comments", delta=+1,
                                 at=None)
        publish("comment_added", comment_id=comment.pk, post_id=post_id)
        publish("post_updated", post_id=post_id)
        return comment

    return atomic_or_not_found(run)


def comment_update(*, user: User, comment_id: int, body: str) -> Comment:
    """Edits a comment's body; only its author may. Sets ``edited_at`` (when the body changed) and
    notifies users newly mentioned (``comment_mentions_added``)."""
    body = _clean_comment_body(body)
    with transaction.atomic():
        comment = (Comment.objects.select_for_update(no_key=True)
                   .filter(pk=comment_id, post__deleted_at__isnull=True).first())
        if comment is None:
            raise not_found("comment_id", "Comment")
        if not comment_can_edit(user, comment):
            raise PermissionDenied("Only a comment's author may edit it.")
        if comment.body == body:
            return comment
        before = set(_mentioned_user_ids(comment.body))
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        response_cache_bus.content_changed()  # the old text is never answered after the commit
        added = [m for m in _mentioned_user_ids(body) if m not in before]
        if added:
            comment_mentions_added.send(Comment, comment=comment, added_user_ids=added)
    return comment


def comment_delete(*, user: User, comment_id: int) -> Comment:
    """Deletes a comment with all its replies; its author or the post's author may.

    Returns the deleted comment (its pk kept). The post's comment_count drops by the
    number of comments removed, the parent's reply_count by one.
    """
    comment = Comment.objects.select_related("post").filter(pk=comment_id, post__deleted_at__isnull=True).first()
    if comment is None:
        raise not_found("comment_id", "Comment")
    if not comment_can_delete(user, comment):
        raise PermissionDenied("Only a comment's author or the post's author may delete it.")
    post_id = comment.post_id

    def run():
        with connection.cursor() as cursor:
            # The post row first: no comment can be added to (or removed from) this thread meanwhile.
            cursor.execute(f"SELECT id FROM {POST_TABLE} WHERE id = %s AND deleted_at IS NULL FOR NO KEY UPDATE",
                           [post_id])
            if cursor.fetchone() is None:
                raise not_found("comment_id", "Comment")
            cursor.execute(
                f"WITH RECURSIVE thread AS (SELECT id FROM {COMMENT_TABLE} WHERE id = %s "
                f"UNION ALL SELECT c.id FROM {COMMENT_TABLE} c JOIN thread t ON c.parent_id = t.id) "
                f"SELECT thread.id, c.created_at FROM thread JOIN {COMMENT_TABLE} c ON c.id = thread.id",
                [comment_id],
            )
            rows = cursor.fetchall()
        ids = [row[0] for row in rows]
        if not ids:  # deleted by someone else meanwhile
            raise not_found("comment_id", "Comment")
        # What refers to a comment: its replies (all in ``ids``) and what the apps above keep about it.
        delete_comments(ids=ids)
        if comment.parent_id is not None:
            Comment.objects.filter(pk=comment.parent_id).update(reply_count=F("reply_count") - 1)
        author_id = bump_post(post_id, "comment_count", -len(ids))
        # Taken back from the hours the comments were counted in.
        per_hour = Counter(created_at.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)
                           for _, created_at in rows)
        for hour, count in per_hour.items():
            interaction_counted.send(Comment, post_id=post_id, post_author_id=author_id, kind="comments",
                                     delta=-count, at=hour)
        publish("post_updated", post_id=post_id, content=True)  # a comment went: the response cache forgets
        return comment

    deleted = atomic_or_not_found(run)
    deleted.pk = comment_id
    return deleted


def delete_comments(*, ids: list[int] | None = None, post_id: int | None = None) -> None:
    """Deletes the comments with these ``ids`` (whole threads), or every comment of the post ``post_id``,
    in ONE statement, after the apps above removed what refers to them (``comments_deleting``).

    Set-based: a thread or a post of 100,000 comments is not loaded into memory. Replies are deleted
    with their parents in the same statement (the self-reference is checked at commit). Counters are
    the caller's job.
    """
    if ids is not None:
        comments, where, param = Comment.objects.filter(pk__in=ids), "id = ANY(%s)", ids
    else:
        comments, where, param = Comment.objects.filter(post_id=post_id), "post_id = %s", post_id
    comments_deleting.send(Comment, comments=comments)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {COMMENT_TABLE} WHERE {where}", [param])
