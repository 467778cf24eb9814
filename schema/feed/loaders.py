"""Per-request loaders of the read path: posts, their authors, comments, likes, shares, mentions
and the viewer's flags. Every loader answers a whole page (or a whole level of a result) with one
query, so the number of queries does not grow with the page size.
"""

from __future__ import annotations

from collections import defaultdict

from feed import selectors
from interactions.models import Comment
from users.models import User

from ..core.loaders import Loader


def _by_pk(queryset, keys):
    found = {obj.pk: obj for obj in queryset.filter(pk__in=set(keys))}
    return [found.get(key) for key in keys]


class UserById(Loader):
    """Users by id (authors of posts and comments when they were not joined in)."""

    def batch(self, keys):
        return _by_pk(User.objects.all(), keys)


class PostById(Loader):
    """Posts by id, authors joined in."""

    def batch(self, keys):
        return _by_pk(selectors.posts().select_related("author"), keys)


class CommentById(Loader):
    """Comments by id, authors joined in (Comment.parent)."""

    def batch(self, keys):
        return _by_pk(Comment.objects.select_related("author"), keys)


class MentionedUsers(Loader):
    """Post id -> the users it mentions."""

    def batch(self, keys):
        found = selectors.mentioned_users(keys)
        return [found[key] for key in keys]


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
        wanted: dict[str, set[int]] = defaultdict(set)
        for flag, post_id in keys:
            wanted[flag].add(post_id)
        found = selectors.viewer_flags(viewer.pk, wanted)
        return [post_id in found[flag] for flag, post_id in keys]


class _FirstRows(Loader):
    """(parent id, limit) -> the first ``limit`` rows of the parent's list, one query per distinct limit."""

    fetch = staticmethod(lambda parent_ids, limit: {})

    def batch(self, keys):
        by_limit: dict[int, list[int]] = defaultdict(list)
        for parent_id, limit in keys:
            by_limit[limit].append(parent_id)
        found = {}
        for limit, parent_ids in by_limit.items():
            for parent_id, rows in self.fetch(parent_ids, limit).items():
                found[(parent_id, limit)] = rows
        return [found.get(key, []) for key in keys]


class FirstComments(_FirstRows):
    """Top-level comments of each post, oldest first, authors joined in."""

    fetch = staticmethod(selectors.first_comments)


class FirstReplies(_FirstRows):
    """Direct replies to each comment, oldest first, authors joined in."""

    fetch = staticmethod(selectors.first_replies)


class FirstLikes(_FirstRows):
    """Likes of each post, newest first, users joined in."""

    fetch = staticmethod(selectors.first_likes)


class FirstShares(_FirstRows):
    """Shares of each post, newest first, users joined in."""

    fetch = staticmethod(selectors.first_shares)


class FirstPosts(_FirstRows):
    """Posts of each user, newest first."""

    fetch = staticmethod(selectors.first_user_posts)
