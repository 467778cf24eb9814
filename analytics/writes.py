"""Recording views and interactions: O(1) Redis work (one Lua script), never an SQL row lock on a hot post."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from feed.models import Post

from . import keys
from .hours import hour_of, now_ts

logger = logging.getLogger(__name__)

MAX_VIEW_IDS = 100


def check_view_batch(post_ids) -> None:
    """The one rule on a batch of views: at most MAX_VIEW_IDS ids, repeats included (ValidationError)."""
    if len(post_ids) > MAX_VIEW_IDS:
        raise ValidationError({"post_ids": ValidationError(f"At most {MAX_VIEW_IDS} posts at once.", code="too_many")})
# Interaction kinds as services name them -> their one-letter field suffix.
KINDS = {"views": "v", "likes": "l", "comments": "c", "shares": "s"}


def view_dedupe_seconds() -> int:
    """A viewer's repeated views of a post count once per window of this length (0: count all)."""
    return int(getattr(settings, "ANALYTICS_VIEW_DEDUPE_SECONDS", 300))


def record_interaction(*, post_id: int, author_id: int, kind: str, delta: int = 1,
                       at: datetime | None = None) -> None:
    """Counts a like/comment/share (kind: "likes" | "comments" | "shares") in the post's hourly stats.

    Call it inside the transaction that made the change (:mod:`analytics.receivers` does, answering
    the interactions signals); it records after commit (nothing for a rollback). ``delta`` is -1 for
    an undo. ``at`` is the hour to count it in (default: now); pass the undone row's ``created_at``
    with an undo to take it back from the hour it was counted in. One Redis round trip (a Lua script
    of four O(1) commands), no SQL.
    """
    if kind not in ("likes", "comments", "shares"):
        raise ValueError(f"unknown interaction kind {kind!r}")
    if delta == 0:
        return
    hour = hour_of(at)

    def send():
        try:
            keys.script(keys.BUMP)(args=[keys.prefix(), hour, author_id, post_id, KINDS[kind], int(delta)])
        except Exception:  # noqa: BLE001 - lost analytics must never fail the write that caused them
            logger.exception("could not record %s for post %s", kind, post_id)

    transaction.on_commit(send)


def viewer_id(viewer=None, fingerprint: str | None = None) -> str:
    """How the unique-viewer HyperLogLog (and the dedupe window) identifies a viewer.

    An authenticated viewer is ``u<id>``. An anonymous one is a keyed hash of a client fingerprint
    (the GraphQL layer passes IP address + User-Agent): ``a<hash>``, so no address is stored. Without
    a fingerprint every anonymous view counts as the same viewer ``anon``.
    """
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        return f"u{viewer.pk}"
    if fingerprint:
        digest = hashlib.blake2b(fingerprint.encode(), key=settings.SECRET_KEY.encode()[:64], digest_size=12)
        return "a" + digest.hexdigest()
    return "anon"


def record_views(viewer, post_ids: Iterable[int], *, fingerprint: str | None = None,
                 now: datetime | float | None = None) -> int:
    """Counts that ``viewer`` (a user, or None for anonymous) saw these posts; returns how many counted.

    - At most :data:`MAX_VIEW_IDS` ids (a ValidationError on ``post_ids`` otherwise); repeated ids
      in one call count once.
    - Ids of posts that do not exist are not counted; neither is an author viewing their own post.
    - The same viewer's views of the same post count once per dedupe window
      (:func:`view_dedupe_seconds`, 5 minutes by default; windows are aligned to the clock).
    - Every counted view adds the viewer to the post's HyperLogLog of unique viewers.

    Cost: one indexed SQL query (which posts exist, and their authors) and one Redis round trip.
    """
    post_ids = list(post_ids)
    check_view_batch(post_ids)
    ids = list(dict.fromkeys(int(pk) for pk in post_ids))
    if not ids:
        return 0
    authors = dict(Post.objects.filter(pk__in=ids).values_list("pk", "author_id"))
    me = viewer.pk if viewer is not None and getattr(viewer, "is_authenticated", False) else None
    pairs = [(pk, authors[pk]) for pk in ids if pk in authors and authors[pk] != me]
    if not pairs:
        return 0
    ts = now_ts(now)
    who = viewer_id(viewer, fingerprint)
    window = view_dedupe_seconds()
    if window > 0:
        slot = int(ts // window)
        seen, ttl = keys.seen_key(who, slot), int((slot + 1) * window - ts) + 1
    else:
        seen, ttl = "", 0
    args = [keys.prefix(), hour_of(ts), seen, ttl, who]
    for pk, author in pairs:
        args += [pk, author]
    return int(keys.script(keys.VIEWS)(args=args))


def stats_purge_batch(post_ids: list[int], limit: int) -> int:
    """Up to ``limit`` of deleted posts' hourly and daily stat rows deleted; returns how many (0: none left).
    One batch of a purge, in its transaction. (Views of it still pending in Redis are dropped by the next
    flush, which only writes for posts that are not deleted.)"""
    from common.sql import delete_some

    from .models import PostStatsBucket, PostStatsDay

    return (delete_some(PostStatsBucket._meta.db_table, "post_id = ANY(%s)", [post_ids], limit=limit)
            or delete_some(PostStatsDay._meta.db_table, "post_id = ANY(%s)", [post_ids], limit=limit))
