"""Per-request loaders of interactions: comments, likes, shares and the viewer's flags on posts. Each
answers a whole page (or a whole level of a result) with one query, so the number of queries does not
grow with the page size.
"""

from __future__ import annotations

from interactions import selectors
from interactions.models import Comment

from ..core.loaders import FirstRows, Loader, by_pk


class CommentById(Loader):
    """Comments by id, authors joined in (Comment.parent, Notification.comment)."""

    def batch(self, keys):
        return by_pk(Comment.objects.select_related("author"), keys)


class ViewerPostFlags(Loader):
    """(flag, post id) -> whether the viewer liked / shared / bookmarked the post.

    All the flags a page asks for come back from one query (a UNION ALL of index probes),
    whatever the page size and however many of the three flags are selected.
    """

    FLAGS = ("liked", "shared", "bookmarked")

    def batch(self, keys):
        viewer = self.viewer
        if viewer is None:
            return [False] * len(keys)
        found = selectors.viewer_post_flags(viewer, {post_id for _, post_id in keys},
                                            flags={flag for flag, _ in keys})
        return [(viewer.pk, post_id) in found[flag] for flag, post_id in keys]


class FirstComments(FirstRows):
    """Top-level comments of each post, oldest first, authors joined in."""

    fetch = staticmethod(selectors.first_comments)
    node_type, joined = "Comment", {"author": "User"}


class FirstReplies(FirstRows):
    """Direct replies to each comment, oldest first, authors joined in."""

    fetch = staticmethod(selectors.first_replies)


class FirstLikes(FirstRows):
    """Likes of each post, newest first, users joined in."""

    fetch = staticmethod(selectors.first_likes)


class FirstShares(FirstRows):
    """Shares of each post, newest first, users joined in."""

    fetch = staticmethod(selectors.first_shares)
