"""Signals this app sends, for other apps to react to without importing them here."""

from django.dispatch import Signal

# Sent inside the transaction that created a follow (never for a repeated follow).
# Receivers: interactions (the FOLLOW notification). kwargs: follow.
follow_created = Signal()
