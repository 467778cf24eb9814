"""Signals this app sends, for the apps above it to answer without feed importing them."""

from django.dispatch import Signal

# Sent inside the transaction that created or edited a post, when the edit
# mentions users the post did not mention before (never for users already
# mentioned, so an edit does not notify twice).
# Receivers: notifications (the MENTION notification).
# kwargs: post (the Post, saved), added_user_ids (list[int], in order of first mention; may
# include the author, who mentioned themselves: receivers skip self-notifications).
post_mentions_changed = Signal()

# Sent by the purge of deleted (hidden) posts (feed/purge.py, off the request path), once per batch, each
# batch its own transaction: each app above deletes up to ``limit`` of its rows hanging on these posts,
# fixing in the same transaction the counters that counted them, and RETURNS how many it deleted (0: none
# left). When every receiver answers 0 the post rows go. Idempotent: a rerun finds less, then nothing.
# Receivers: interactions (likes, shares, bookmarks, comments), notifications, analytics (stat buckets).
# kwargs: post_ids (a list: one deleted post, or a batch of a deleted user's posts), limit.
post_purging = Signal()
