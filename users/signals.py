"""Signals this app sends, for the apps above it to answer without users importing them."""

from django.dispatch import Signal

# Sent inside the transaction that created a follow (never for a repeated follow).
# Receivers: notifications (the FOLLOW notification). kwargs: follow.
follow_created = Signal()

# Sent inside the transaction deleting (hiding) a user, the user row locked and marked: each app above hides
# at once what must disappear with the account (feed: the user's posts, one UPDATE). The rows themselves
# go later, in batches (user_purging). kwargs: user_id.
user_deleting = Signal()

# Sent by the purge of a deleted (hidden) user (users/purge.py, off the request path), once per batch, each
# batch its own transaction: each app above deletes up to ``limit`` of its rows that belong to the user,
# fixing in the same transaction the counters on rows that stay (interactions: others' posts' like/share/
# comment counts, others' comments' reply counts), and RETURNS how many it deleted (0: none left). When
# every receiver answers 0 the user row goes. Receivers: feed (the user's posts, each purged as a deleted
# post), interactions, notifications. kwargs: user_id, limit.
user_purging = Signal()
