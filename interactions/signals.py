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

# --- answered by notifications (inside the transaction, as the notify() calls they replace were) --------------
# A post was liked (never for a repeated like). sender: Like; kwargs: like_id, user_id, post_id, post_author_id.
like_created = Signal()

# A post was shared (never for a repeated share). sender: Share; kwargs: share_id, user_id, post_id, post_author_id.
share_created = Signal()

# A comment or reply was written. sender: Comment; kwargs: comment (saved), post_author_id,
# parent_author_id (the replied-to comment's author, None for a top-level comment),
# mentioned_user_ids (active users the body mentions, in order of first mention; may include anyone).
comment_created = Signal()

# An edited comment mentions users its old body did not. sender: Comment; kwargs: comment, added_user_ids.
comment_mentions_added = Signal()

# Comments are about to be deleted (a thread, or every comment of a post being deleted), set-based:
# receivers remove what refers to them. sender: Comment; kwargs: comments (a QuerySet of those comments,
# evaluate it only in a subquery: a post may have 100,000 comments).
comments_deleting = Signal()
