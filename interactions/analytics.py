"""Interaction analytics (views in Redis, hourly buckets in PostgreSQL). Filled in by the analytics work."""

from __future__ import annotations


def record_interaction(*, post_id: int, author_id: int, kind: str, delta: int = 1) -> None:
    """Counts a like/comment/share (kind: "likes" | "comments" | "shares") for the post's current hour.

    Call it from a service inside the transaction; it records after commit. ``delta`` is -1 for an undo.
    """
