"""Signals of the interactions app, answered by the apps above it (receivers connect in their AppConfig.ready).

interactions never imports those apps: it sends, they answer.
"""

from django.dispatch import Signal

# A like, comment or share was added or taken back. Sent by interactions.services INSIDE the write's
# transaction, once per change (a comment thread deleted: once per hour its comments were counted in).
# A receiver that acts on it outside the database defers that to transaction.on_commit (analytics does).
# sender: the model (Like, Comment or Share); kwargs:
#   post_id         the post
#   post_author_id  the post's author
#   kind            "likes" | "comments" | "shares"
#   delta           +n for added, -n for taken back
#   at              the datetime whose hour the change belongs to (None: now); an undo passes the
#                   undone rows' created_at, so it is taken back from the hour it was counted in
interaction_counted = Signal()
