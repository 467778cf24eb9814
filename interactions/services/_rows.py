"""Row-level helpers shared by the interactions services: NOT_FOUND errors, the (user, post) insert,
the post counter bump, the relaxed commit and the transaction wrapper."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from feed.models import Post

from ..models import Bookmark, Comment, Like, Share

POST_TABLE = Post._meta.db_table
LIKE_TABLE = Like._meta.db_table
SHARE_TABLE = Share._meta.db_table
BOOKMARK_TABLE = Bookmark._meta.db_table
COMMENT_TABLE = Comment._meta.db_table


def not_found(field: str, type_name: str) -> ValidationError:
    return ValidationError({field: ValidationError(f"No {type_name} has this id.", code="not_found")})


def post_not_found() -> ValidationError:
    return not_found("post_id", "Post")


def insert_pair(table: str, user_id: int, post_id: int, extra: dict | None = None):
    """Inserts (user, post[, extra]) into ``table`` unless present.

    One statement: reads the post (NOT_FOUND when missing or deleted) and inserts with ON CONFLICT DO NOTHING.
    Returns (post author id, new row id or None, its created_at or None).
    """
    extra = extra or {}
    columns = ", ".join(["user_id", "post_id", "created_at", *extra])
    values = ", ".join(["%s", "p.id", "now()", *(["%s"] * len(extra))])
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH p AS (SELECT id, author_id FROM {POST_TABLE} WHERE id = %s AND deleted_at IS NULL), "
            f"ins AS (INSERT INTO {table} ({columns}) SELECT {values} FROM p "
            "ON CONFLICT (user_id, post_id) DO NOTHING RETURNING id, created_at) "
            "SELECT p.author_id, ins.id, ins.created_at FROM p LEFT JOIN ins ON true",
            [post_id, user_id, *extra.values()],
        )
        row = cursor.fetchone()
    if row is None:
        raise post_not_found()
    return row


def bump_post(post_id: int, column: str, delta: int, *, relaxed: bool = False) -> int:
    """``column = column + delta`` on the post; returns its author id. NOT_FOUND if it was deleted meanwhile
    (a write that waited for the deletion's lock finds the mark and rolls back: nothing lands on a deleted post).

    ``relaxed``: the transaction's commit need not wait for the disk (see :func:`relax_commit`).
    """
    if relaxed:
        relax_commit()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {POST_TABLE} SET {column} = {column} + %s WHERE id = %s AND deleted_at IS NULL "
            "RETURNING author_id", [delta, post_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise post_not_found()
    return row[0]


def require_post(post_id: int) -> None:
    if not Post.objects.filter(pk=post_id).exists():
        raise post_not_found()


def relax_commit() -> None:
    """Lets this transaction's COMMIT return before its WAL is flushed to disk (only when outermost).

    On a hot post every like waits for the post row's lock, held until the previous liker's COMMIT
    returns: with a synchronous commit that is one disk flush per like, which caps a hot post's
    likes per second (see docs/interactions.md). Without waiting for the flush, the lock is released
    at once. The risk is bounded and consistent: a server crash may lose the last fraction of a
    second of likes/shares, each together with its counter change (one transaction), so counters
    stay exact. Comments, being content, keep the default.
    ``settings.INTERACTIONS_SYNCHRONOUS_COMMIT = "on"`` turns this off.
    """
    mode = getattr(settings, "INTERACTIONS_SYNCHRONOUS_COMMIT", "off")
    if mode != "on" and connection.get_autocommit() is False and len(connection.savepoint_ids) == 0:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', %s, true)", [mode])


def atomic_or_not_found(fn):
    """Runs ``fn`` in a transaction; an IntegrityError (the post or user deleted meanwhile) is NOT_FOUND."""
    try:
        with transaction.atomic():
            return fn()
    except IntegrityError:
        raise post_not_found() from None
