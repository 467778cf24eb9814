"""interactions' part of purging a deleted post or user (answers to feed's ``post_purging`` and users'
``user_purging``, connected in interactions/receivers.py), off the request path.

Each call deletes at most ``limit`` rows, in the caller's transaction (one batch), and changes the
counters that counted them in that same transaction, so every counter equals COUNT(*) of its rows
at every moment: a post's like/share/comment counts, a comment's reply_count. It returns how many
rows went; 0 means nothing of the post (or user) is left here. Every statement deletes only rows
that still exist and counts only what it deleted (``DELETE … RETURNING``), so a rerun, or two purges
meeting on the same rows, change nothing more.

Lock order, as the writers': likes and shares their own rows first, then post rows (several, in id
order); comments the post row FIRST, then comment rows (see comments.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import timezone as dt_timezone

from django.db import connection

from ..models import Comment, Like, Share
from ..signals import interaction_counted
from ._rows import BOOKMARK_TABLE, COMMENT_TABLE, LIKE_TABLE, POST_TABLE, SHARE_TABLE
from .comments import delete_comments

_PAIRS = ((LIKE_TABLE, "like_count", "likes", Like), (SHARE_TABLE, "share_count", "shares", Share))


def _hour(at):
    return at.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)


def _take_off_posts(column: str, kind: str, sender, gone: list[tuple[int, object]]) -> None:
    """``column -= n`` on each post that lost n rows (``gone``: (post_id, created_at) of the deleted rows),
    the post rows locked in id order; visible posts' hourly stats lose them too (from the hour each was
    counted in), as an undo does."""
    per_post = Counter(post_id for post_id, _ in gone)
    ids = sorted(per_post)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {POST_TABLE} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [ids])
        cursor.execute(
            f"UPDATE {POST_TABLE} p SET {column} = p.{column} - x.n FROM unnest(%s::bigint[], %s::int[]) AS x(id, n) "
            f"WHERE p.id = x.id RETURNING p.id, p.author_id, p.deleted_at IS NULL",
            [ids, [per_post[i] for i in ids]])
        authors = {pk: author for pk, author, visible in cursor.fetchall() if visible}
    per_hour = Counter((post_id, _hour(at)) for post_id, at in gone if post_id in authors)
    for (post_id, hour), n in per_hour.items():
        interaction_counted.send(sender, post_id=post_id, post_author_id=authors[post_id], kind=kind, delta=-n,
                                 at=hour)


def _delete_pairs(table: str, column: str, kind: str, sender, *, where: str, param, limit: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {where} LIMIT %s) "
            f"RETURNING post_id, created_at", [param, limit])
        gone = cursor.fetchall()
    if gone:
        _take_off_posts(column, kind, sender, gone)
    return len(gone)


def _delete_bookmarks(*, where: str, param, limit: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {BOOKMARK_TABLE} WHERE id IN (SELECT id FROM {BOOKMARK_TABLE} WHERE {where} LIMIT %s)",
            [param, limit])
        return cursor.rowcount


# The candidates of a comment batch: every comment of the posts, or the subtrees of one user's comments on them.
_ALL = f"gone AS (SELECT id, post_id, parent_id, created_at FROM {COMMENT_TABLE} WHERE post_id = ANY(%(posts)s))"
_SUBTREES = (
    f"gone AS (SELECT id, post_id, parent_id, created_at FROM {COMMENT_TABLE} WHERE post_id = ANY(%(posts)s) "
    f"AND author_id = %(author)s UNION SELECT r.id, r.post_id, r.parent_id, r.created_at FROM {COMMENT_TABLE} r "
    f"JOIN gone g ON r.parent_id = g.id)"
)


def delete_comment_batch(post_ids: list[int], *, limit: int, author_id: int | None = None) -> int:
    """Up to ``limit`` comments of the posts (or, with ``author_id``, of that user's comments on them and
    every reply beneath, whoever wrote those), with the counters that counted them; returns how many went.

    A batch is the candidates with the highest ids: a reply is always newer than what it answers (a
    higher id), so a batch holds every remaining reply of its comments and never orphans one (a comment
    that still has a reply outside the batch, and its ancestors, wait for a later batch). The post rows
    are locked first (in id order), as comment writes do: the threads cannot change meanwhile. Counters
    fixed in the same transaction: the posts' comment_count, the reply_count of the parents that stay.
    """
    params = {"posts": sorted(post_ids), "author": author_id, "limit": limit}
    gone = _ALL if author_id is None else _SUBTREES
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {POST_TABLE} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                       [params["posts"]])
        if not cursor.fetchall():
            return 0
        cursor.execute(
            f"WITH RECURSIVE {gone}, "
            f"batch AS MATERIALIZED (SELECT * FROM gone ORDER BY id DESC LIMIT %(limit)s), "
            f"blocked AS (SELECT r.parent_id AS id FROM {COMMENT_TABLE} r WHERE r.parent_id IN (SELECT id FROM batch) "
            f"AND r.id NOT IN (SELECT id FROM batch) "
            f"UNION SELECT b.parent_id FROM batch b JOIN blocked k ON b.id = k.id WHERE b.parent_id IS NOT NULL) "
            f"SELECT id, post_id, parent_id, created_at FROM batch "
            f"WHERE id NOT IN (SELECT id FROM blocked WHERE id IS NOT NULL)", params)
        rows = cursor.fetchall()
        if not rows:  # only if ids do not follow the threads (imported data): leaves, whatever their ids
            cursor.execute(
                f"WITH RECURSIVE {gone} SELECT g.id, g.post_id, g.parent_id, g.created_at FROM gone g "
                f"WHERE NOT EXISTS (SELECT 1 FROM {COMMENT_TABLE} r WHERE r.parent_id = g.id) LIMIT %(limit)s", params)
            rows = cursor.fetchall()
    if not rows:
        return 0
    ids = [row[0] for row in rows]
    delete_comments(ids=ids)
    going = set(ids)
    parents = Counter(parent for _, _, parent, _ in rows if parent is not None and parent not in going)
    per_post = Counter(post for _, post, _, _ in rows)
    posts = sorted(per_post)
    with connection.cursor() as cursor:
        if parents:
            keys = sorted(parents)
            cursor.execute(
                f"UPDATE {COMMENT_TABLE} c SET reply_count = c.reply_count - x.n "
                f"FROM unnest(%s::bigint[], %s::int[]) AS x(id, n) WHERE c.id = x.id",
                [keys, [parents[k] for k in keys]])
        cursor.execute(
            f"UPDATE {POST_TABLE} p SET comment_count = p.comment_count - x.n "
            f"FROM unnest(%s::bigint[], %s::int[]) AS x(id, n) WHERE p.id = x.id "
            f"RETURNING p.id, p.author_id, p.deleted_at IS NULL", [posts, [per_post[k] for k in posts]])
        authors = {pk: author for pk, author, visible in cursor.fetchall() if visible}
    # Posts that stay: their hourly stats lose the comments, each from the hour it was counted in.
    per_hour = Counter((post, _hour(created_at)) for _, post, _, created_at in rows if post in authors)
    for (post, hour), n in per_hour.items():
        interaction_counted.send(Comment, post_id=post, post_author_id=authors[post], kind="comments", delta=-n,
                                 at=hour)
    return len(ids)


def purge_post_batch(post_ids: list[int], limit: int) -> int:
    """One batch of what hangs on deleted posts here: their likes, then shares, bookmarks, comments."""
    for table, column, kind, sender in _PAIRS:
        n = _delete_pairs(table, column, kind, sender, where="post_id = ANY(%s)", param=post_ids, limit=limit)
        if n:
            return n
    n = _delete_bookmarks(where="post_id = ANY(%s)", param=post_ids, limit=limit)
    if n:
        return n
    return delete_comment_batch(post_ids, limit=limit)


def purge_user_batch(user_id: int, limit: int) -> int:
    """One batch of a deleted user's rows here: likes, shares, bookmarks, then their comments (on up to
    ``limit`` posts at a time, each with every reply beneath), taken off the counters of the posts and
    comments that stay."""
    for table, column, kind, sender in _PAIRS:
        n = _delete_pairs(table, column, kind, sender, where="user_id = %s", param=user_id, limit=limit)
        if n:
            return n
    n = _delete_bookmarks(where="user_id = %s", param=user_id, limit=limit)
    if n:
        return n
    post_ids = list(Comment.objects.filter(author_id=user_id).order_by().values_list("post_id", flat=True)
                    .distinct()[:limit])
    if not post_ids:
        return 0
    return delete_comment_batch(post_ids, limit=limit, author_id=user_id)
