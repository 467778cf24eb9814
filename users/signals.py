"""Signals this app sends, for the apps above it to answer without users importing them."""

from django.dispatch import Signal

# Sent inside the transaction that created a follow (never for a repeated follow).
# Receivers: notifications (the FOLLOW notification). kwargs: follow.
follow_created = Signal()

# Sent inside the transaction deleting a user, the user row locked, before the cascade removes what the
# user owns: each app above takes what goes off the counters it keeps on rows that stay (interactions:
# others' posts' like/share/comment counts and others' comments' reply counts). kwargs: user.
user_deleting = Signal()
