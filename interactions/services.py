"""Writes for interactions: likes, comments, shares, bookmarks and notifications.

Counters are exact under concurrency. Every write that changes a counter does
the row insert/delete and the counter change in ONE short transaction, and
changes the counter only when a row was really inserted or deleted
(``INSERT ... ON CONFLICT DO NOTHING RETURNING`` / ``DELETE ... RETURNING``),
so doing something twice, or undoing what was never done, changes nothing and
is not an error. No IntegrityError leaves this module: the only one that can
happen (the post deleted while we write, caught by the deferred foreign keys at
commit) becomes a NOT_FOUND validation error.

Lock order, to keep concurrent writers free of deadlocks:
- likes and shares: their own row first, then (last, for the shortest hold on a
  hot post) the post row for its counter;
- comments: the post row FIRST (create and delete), then comment rows. Holding
  the post lock keeps a thread stable while a subtree is deleted, so a reply can
  never be inserted under a comment being deleted. Nothing that holds a post
  lock ever waits for a like/share row, so the two orders cannot form a cycle.

Realtime events (common.events.publish) and the ``interaction_counted`` signal (answered by
analytics) are sent from inside the transaction and delivered/counted after commit only.
"""

from __future__ import annotations

from collections import Counter
from datetime import timezone as dt_timezone
from typing import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from common.events import publish
from feed.models import Post
from feed.parsing import parse_mentions
from users.models import User

from .models import COMMENT_BODY_MAX, SHARE_COMMENT_MAX, Bookmark, Comment, Like, Notification, Share
from .signals import interaction_counted

Kind = Notification.Kind

POST_TABLE = Post._meta.db_table
LIKE_TABLE = Like._meta.db_table
SHARE_TABLE = Share._meta.db_table
BOOKMARK_TABLE = Bookmark._meta.db_table
COMMENT_TABLE = Comment._meta.db_table
NOTIFICATION_TABLE = Notification._meta.db_table


# --- errors -------------------------------------------------------------------
def _not_found(field: str, type_name: str) -> ValidationError:
    return ValidationError({field: ValidationError(f"No {type_name} has this id.", code="not_found")})


def _post_not_found() -> ValidationError:
    return _not_found("post_id", "Post")


# --- mentions -----------------------------------------------------------------
def _parse_mentions(text: str) -> list[str]:
    """Usernames mentioned in ``text`` (the posts' parser: same rules for posts and comments)."""
    return parse_mentions(text or "")


def mentioned_user_ids(text: str, *, limit: int = 50) -> list[int]:
    """Ids of the active users mentioned in ``text`` (at most ``limit`` distinct names are looked up)."""
    names = _parse_mentions(text)[:limit]
    if not names:
        return []
    return list(
        User.objects.annotate(lname=Lower("username"))
        .filter(lname__in=names, is_active=True)
        .values_list("pk", flat=True)
    )


# --- notifications --------------------------------------------------------------
def notify(kind: str, *, actor_id: int, recipient_ids: Iterable[int], post_id: int | None = None,
           comment_id: int | None = None, once_per_target: bool = False) -> list[int]:
    """Creates notifications of ``kind`` by ``actor_id``; returns the ids created.

    Never for one's own actions. LIKE, SHARE and FOLLOW are created at most once per
    (recipient, actor, post) by the ``notification_once`` constraint (ON CONFLICT DO
    NOTHING), so like, unlike, like again notifies once. ``once_per_target`` skips
    recipients who already have a notification of this kind for this post/comment
    (mentions re-added by an edit). Call inside the writer's transaction: the
    ``notification_created`` events are sent after commit.
    """
    recipients = [r for r in dict.fromkeys(recipient_ids) if r and r != actor_id]
    if not recipients:
        return []
    sql = (
        f"INSERT INTO {NOTIFICATION_TABLE} (recipient_id, kind, actor_id, post_id, comment_id, created_at) "
        "SELECT r, %s, %s, %s, %s, now() FROM unnest(%s::bigint[]) AS r "
    )
    params: list = [kind, actor_id, post_id, comment_id, recipients]
    if once_per_target:
        sql += (
            f"WHERE NOT EXISTS (SELECT 1 FROM {NOTIFICATION_TABLE} n WHERE n.recipient_id = r AND n.kind = %s "
            "AND n.post_id IS NOT DISTINCT FROM %s AND n.comment_id IS NOT DISTINCT FROM %s) "
        )
        params += [kind, post_id, comment_id]
    sql += "ON CONFLICT DO NOTHING RETURNING id, recipient_id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created = cursor.fetchall()
    for notification_id, recipient_id in created:
        publish("notification_created", notification_id=notification_id, recipient_id=recipient_id)
    return [row[0] for row in created]


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None, all: bool = False) -> int:  # noqa: A002
    """Marks the given notifications of ``user`` (others' ids are ignored), or all, read. Returns the unread count."""
    if not all and ids is None:
        raise ValidationError({"ids": ValidationError("Give the ids to mark, or set `all`.", code="required")})
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if all:
        unread.update(read_at=timezone.now())
    else:
        ids = list(dict.fromkeys(ids or ()))
        if len(ids) > 100:
            raise ValidationError({"ids": ValidationError("At most 100 ids at once.", code="invalid")})
        if ids:
            unread.filter(pk__in=ids).update(read_at=timezone.now())
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# --- likes ----------------------------------------------------------------------
def _insert_pair(table: str, user_id: int, post_id: int, extra: dict | None = None):
    """Inserts (user, post[, extra]) into ``table`` unless present.

    One statement: reads the post (NOT_FOUND when missing) and inserts with ON CONFLICT DO NOTHING.
    Returns (post author id, new row id or None, its created_at or None).
    """
    extra = extra or {}
    columns = ", ".join(["user_id", "post_id", "created_at", *extra])
    values = ", ".join(["%s", "p.id", "now()", *(["%s"] * len(extra))])
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH p AS (SELECT id, author_id FROM {POST_TABLE} WHERE id = %s), "
            f"ins AS (INSERT INTO {table} ({columns}) SELECT {values} FROM p "
            "ON CONFLICT (user_id, post_id) DO NOTHING RETURNING id, created_at) "
            "SELECT p.author_id, ins.id, ins.created_at FROM p LEFT JOIN ins ON true",
            [post_id, user_id, *extra.values()],
        )
        row = cursor.fetchone()
    if row is None:
        raise _post_not_found()
    return row


def _bump_post(post_id: int, column: str, delta: int, *, relaxed: bool = False) -> int:
    """``column = column + delta`` on the post; returns its author id. NOT_FOUND if it was deleted meanwhile.

    ``relaxed``: the transaction's commit need not wait for the disk (see :func:`_relax_commit`).
    """
    if relaxed:
        _relax_commit()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {POST_TABLE} SET {column} = {column} + %s WHERE id = %s RETURNING author_id", [delta, post_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise _post_not_found()
    return row[0]


def _require_post(post_id: int) -> None:
    if not Post.objects.filter(pk=post_id).exists():
        raise _post_not_found()


def _relax_commit() -> None:
    """Lets this transaction's COMMIT return before its WAL is flushed to disk (only when outermost).

    On a hot post every like waits for the post row's lock, held until the previous liker's COMMIT
    returns: with a synchronous commit that is one disk flush (~4 ms here) per like, so ~250 likes/s
    at most. Without waiting for the flush, the lock is released at once. The risk is bounded and
    consistent: a server crash may lose the last fraction of a second of likes/shares, each together
    with its counter change (one transaction), so counters stay exact. Comments, being content, keep
    the default. ``settings.INTERACTIONS_SYNCHRONOUS_COMMIT = "on"`` turns this off.
    """
    mode = getattr(settings, "INTERACTIONS_SYNCHRONOUS_COMMIT", "off")
    if mode != "on" and connection.get_autocommit() is False and len(connection.savepoint_ids) == 0:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', %s, true)", [mode])


def _atomic_or_not_found(fn):
    """Runs ``fn`` in a transaction; an IntegrityError (the post or user deleted meanwhile) is NOT_FOUND."""
    try:
        with transaction.atomic():
            return fn()
    except IntegrityError:
        raise _post_not_found() from None


def like_create(*, user: User, post_id: int) -> tuple[Like | None, bool]:
    """Likes a post. Returns (like, created); liking again changes nothing."""

    def run():
        author_id, like_id, created_at = _insert_pair(LIKE_TABLE, user.pk, post_id)
        if like_id is None:
            return Like.objects.filter(user=user, post_id=post_id).first(), False
        notify(Kind.LIKE, actor_id=user.pk, recipient_ids=[author_id], post_id=post_id)
        _bump_post(post_id, "like_count", +1, relaxed=True)  # last: the hot row is locked for the shortest time
        interaction_counted.send(Like, post_id=post_id, post_author_id=author_id, kind="likes", delta=+1, at=None)
        publish("post_updated", post_id=post_id)
        return Like(pk=like_id, user=user, post_id=post_id, created_at=created_at), True

    return _atomic_or_not_found(run)


def _delete_pair(table: str, *, user: User, post_id: int, counter: str, kind: str) -> bool:
    """Deletes the user's like/share of a post and takes it off the counter and the hour it was counted in."""

    def run():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s AND post_id = %s RETURNING created_at",
                           [user.pk, post_id])
            deleted = cursor.fetchone()
        if deleted is None:
            _require_post(post_id)
            return False
        author_id = _bump_post(post_id, counter, -1, relaxed=True)
        interaction_counted.send(Like if kind == "likes" else Share, post_id=post_id, post_author_id=author_id,
                                 kind=kind, delta=-1, at=deleted[0])
        publish("post_updated", post_id=post_id)
        return True

    return _atomic_or_not_found(run)


def like_delete(*, user: User, post_id: int) -> bool:
    """Takes a like back. Returns whether one was removed; unliking again changes nothing."""
    return _delete_pair(LIKE_TABLE, user=user, post_id=post_id, counter="like_count", kind="likes")


# --- shares ---------------------------------------------------------------------
def _clean_share_comment(comment: str | None) -> str:
    comment = (comment or "").strip()
    if len(comment) > SHARE_COMMENT_MAX:
        raise ValidationError(
            {"comment": ValidationError(f"A share's comment is at most {SHARE_COMMENT_MAX} characters.",
                                        code="too_long")}
        )
    return comment


def share_create(*, user: User, post_id: int, comment: str | None = None) -> tuple[Share | None, bool]:
    """Shares a post to the user's followers. Returns (share, created); sharing again changes nothing
    (the first share and its comment stay)."""
    comment = _clean_share_comment(comment)

    def run():
        author_id, share_id, created_at = _insert_pair(SHARE_TABLE, user.pk, post_id, {"comment": comment})
        if share_id is None:
            return Share.objects.filter(user=user, post_id=post_id).first(), False
        notify(Kind.SHARE, actor_id=user.pk, recipient_ids=[author_id], post_id=post_id)
        _bump_post(post_id, "share_count", +1, relaxed=True)
        interaction_counted.send(Share, post_id=post_id, post_author_id=author_id, kind="shares", delta=+1, at=None)
        publish("share_created", share_id=share_id, post_id=post_id, user_id=user.pk)
        publish("post_updated", post_id=post_id)
        return Share(pk=share_id, user=user, post_id=post_id, comment=comment, created_at=created_at), True

    return _atomic_or_not_found(run)


def share_delete(*, user: User, post_id: int) -> bool:
    """Takes a share back. Returns whether one was removed; unsharing again changes nothing."""
    return _delete_pair(SHARE_TABLE, user=user, post_id=post_id, counter="share_count", kind="shares")


# --- bookmarks ------------------------------------------------------------------
def bookmark_create(*, user: User, post_id: int) -> tuple[Bookmark | None, bool]:
    """Bookmarks a post (private: no counter, no notification). Returns (bookmark, created)."""

    def run():
        _, bookmark_id, created_at = _insert_pair(BOOKMARK_TABLE, user.pk, post_id)
        if bookmark_id is None:
            return Bookmark.objects.filter(user=user, post_id=post_id).first(), False
        return Bookmark(pk=bookmark_id, user=user, post_id=post_id, created_at=created_at), True

    return _atomic_or_not_found(run)


def bookmark_delete(*, user: User, post_id: int) -> bool:
    """Removes a bookmark. Returns whether one was removed; doing it again changes nothing."""
    deleted, _ = Bookmark.objects.filter(user=user, post_id=post_id).delete()
    if not deleted:
        _require_post(post_id)
    return bool(deleted)


# --- comments -------------------------------------------------------------------
def _clean_comment_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ValidationError("A comment cannot be empty.", code="required")})
    if len(body) > COMMENT_BODY_MAX:
        raise ValidationError(
            {"body": ValidationError(f"A comment is at most {COMMENT_BODY_MAX} characters.", code="too_long")}
        )
    return body


def comment_create(*, author: User, post_id: int, body: str, parent_id: int | None = None) -> Comment:
    """Comments on a post, or replies to ``parent_id`` (a comment on the same post).

    Notifies the parent's author (REPLY), the post's author (COMMENT) and the users
    mentioned (MENTION): one notification per person, in that order of precedence,
    never the commenter.
    """
    body = _clean_comment_body(body)
    mentioned = mentioned_user_ids(body)

    def run():
        # The post row first (see the module's lock order), with its counter.
        post_author_id = _bump_post(post_id, "comment_count", +1)
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
                raise _not_found("parent_id", "Comment")
            parent_author_id = row[0]
        comment = Comment.objects.create(post_id=post_id, author=author, parent_id=parent_id, body=body)

        notified: set[int] = {author.pk}
        if parent_author_id is not None and parent_author_id not in notified:
            notify(Kind.REPLY, actor_id=author.pk, recipient_ids=[parent_author_id], post_id=post_id,
                   comment_id=comment.pk)
            notified.add(parent_author_id)
        if post_author_id not in notified:
            notify(Kind.COMMENT, actor_id=author.pk, recipient_ids=[post_author_id], post_id=post_id,
                   comment_id=comment.pk)
            notified.add(post_author_id)
        notify(Kind.MENTION, actor_id=author.pk, recipient_ids=[m for m in mentioned if m not in notified],
               post_id=post_id, comment_id=comment.pk)

        interaction_counted.send(Comment, post_id=post_id, post_author_id=post_author_id, kind="comments", delta=+1,
                                 at=None)
        publish("comment_added", comment_id=comment.pk, post_id=post_id)
        publish("post_updated", post_id=post_id)
        return comment

    return _atomic_or_not_found(run)


def comment_update(*, user: User, comment_id: int, body: str) -> Comment:
    """Edits a comment's body; only its author may. Sets ``edited_at`` (when the body changed) and
    notifies users newly mentioned."""
    body = _clean_comment_body(body)
    with transaction.atomic():
        comment = Comment.objects.select_for_update(no_key=True).filter(pk=comment_id).first()
        if comment is None:
            raise _not_found("comment_id", "Comment")
        if comment.author_id != user.pk:
            raise PermissionDenied("Only a comment's author may edit it.")
        if comment.body == body:
            return comment
        before = set(mentioned_user_ids(comment.body))
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        added = [m for m in mentioned_user_ids(body) if m not in before]
        notify(Kind.MENTION, actor_id=user.pk, recipient_ids=added, post_id=comment.post_id,
               comment_id=comment.pk, once_per_target=True)
    return comment


def comment_delete(*, user: User, comment_id: int) -> Comment:
    """Deletes a comment with all its replies; its author or the post's author may.

    Returns the deleted comment (its pk kept). The post's comment_count drops by the
    number of comments removed, the parent's reply_count by one.
    """
    comment = Comment.objects.select_related("post").filter(pk=comment_id).first()
    if comment is None:
        raise _not_found("comment_id", "Comment")
    if user.pk not in (comment.author_id, comment.post.author_id):
        raise PermissionDenied("Only a comment's author or the post's author may delete it.")
    post_id = comment.post_id

    def run():
        with connection.cursor() as cursor:
            # The post row first: no comment can be added to (or removed from) this thread meanwhile.
            cursor.execute(f"SELECT id FROM {POST_TABLE} WHERE id = %s FOR NO KEY UPDATE", [post_id])
            if cursor.fetchone() is None:
                raise _not_found("comment_id", "Comment")
            cursor.execute(
                f"WITH RECURSIVE thread AS (SELECT id FROM {COMMENT_TABLE} WHERE id = %s "
                f"UNION ALL SELECT c.id FROM {COMMENT_TABLE} c JOIN thread t ON c.parent_id = t.id) "
                f"SELECT thread.id, c.created_at FROM thread JOIN {COMMENT_TABLE} c ON c.id = thread.id",
                [comment_id],
            )
            rows = cursor.fetchall()
        ids = [row[0] for row in rows]
        if not ids:  # deleted by someone else meanwhile
            raise _not_found("comment_id", "Comment")
        # Set-based: a thread of thousands of replies is not loaded into memory. What refers to a
        # comment: its replies (all in ``ids``) and notifications about it.
        Notification.objects.filter(comment_id__in=ids).delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {COMMENT_TABLE} WHERE id = ANY(%s)", [ids])
        if comment.parent_id is not None:
            Comment.objects.filter(pk=comment.parent_id).update(reply_count=F("reply_count") - 1)
        author_id = _bump_post(post_id, "comment_count", -len(ids))
        # Taken back from the hours the comments were counted in.
        per_hour = Counter(created_at.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)
                           for _, created_at in rows)
        for hour, count in per_hour.items():
            interaction_counted.send(Comment, post_id=post_id, post_author_id=author_id, kind="comments",
                                     delta=-count, at=hour)
        publish("post_updated", post_id=post_id)
        return comment

    deleted = _atomic_or_not_found(run)
    deleted.pk = comment_id
    return deleted
