"""Writes for interactions: likes, shares and bookmarks (reactions.py), comments (comments.py), and
interactions' part of purging a deleted post or user (purge.py).

Counters are exact under concurrency. Every write that changes a counter does
the row insert/delete and the counter change in ONE short transaction, and
changes the counter only when a row was really inserted or deleted
(``INSERT ... ON CONFLICT DO NOTHING RETURNING`` / ``DELETE ... RETURNING``),
so doing something twice, or undoing what was never done, changes nothing and
is not an error. No IntegrityError leaves this package: the only one that can
happen (the post deleted while we write, caught by the deferred foreign keys at
commit) becomes a NOT_FOUND validation error.

Lock order, to keep concurrent writers free of deadlocks:
- likes and shares: their own row first, then (last, for the shortest hold on a
  hot post) the post row for its counter;
- comments: the post row FIRST (create and delete), then comment rows. Nothing
  that holds a post lock ever waits for a like/share row, so the two orders
  cannot form a cycle.

Nothing here imports the apps above: notifications answer interactions.signals
(like_created, share_created, comment_created, comment_mentions_added,
comments_deleting) inside the transaction, analytics answers interaction_counted
and counts after commit. Realtime events (common.events.publish) go out after commit.
"""

from .comments import comment_create, comment_delete, comment_update
from .purge import purge_post_batch, purge_user_batch
from .reactions import (bookmark_create, bookmark_delete, like_create, like_delete, share_create,
                        share_delete)

__all__ = [
    "bookmark_create", "bookmark_delete", "comment_create", "comment_delete", "comment_update", "like_create",
    "like_delete", "purge_post_batch", "purge_user_batch", "share_create", "share_delete",
]
