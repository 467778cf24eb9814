"""Signals this app sends, for the apps above it to answer without feed importing them."""

from django.dispatch import Signal

# Sent inside the transaction that created or edited a post, when the edit
# mentions users the post did not mention before (never for users already
# mentioned, so an edit does not notify twice).
# Receivers: notifications (the MENTION notification).
# kwargs: post (the Post, saved), added_user_ids (list[int], in order of first mention; may
# include the author, who mentioned themselves: receivers skip self-notifications).
post_mentions_changed = Signal()

# Sent inside the transaction deleting a post, the post row locked, before it goes: each app above removes
# its own rows of the post that the delete cascade should not load one by one (interactions: the
# comments, set-based). Whatever is left goes with the post's cascade. kwargs: post.
post_deleting = Signal()
