"""Signals this app sends, for other apps to react to without importing them here."""

from django.dispatch import Signal

# Sent inside the transaction that created or edited a post, when the edit
# mentions users the post did not mention before (never for users already
# mentioned, so an edit does not notify twice).
# Receivers: interactions (the MENTION notification).
# kwargs: post (the Post, saved), added_user_ids (list[int], in order of first mention; may
# include the author, who mentioned themselves: receivers skip self-notifications).
post_mentions_changed = Signal()
