"""Per-request loaders of posts: by id, their mentions, each user's first posts. Each answers a whole
page (or a whole level of a result) with one query, so the number of queries does not grow with the
page size.
"""

from __future__ import annotations

from feed import selectors

from ..core.loaders import FirstRows, Loader, by_pk


class PostById(Loader):
    """Posts by id, authors joined in."""

    def batch(self, keys):
        return by_pk(selectors.posts().select_related("author"), keys)


class MentionedUsers(Loader):
    """Post id -> the users it mentions."""

    def batch(self, keys):
        found = selectors.mentioned_users(keys)
        return [found[key] for key in keys]


class FirstPosts(FirstRows):
    """Posts of each user, newest first."""

    fetch = staticmethod(selectors.first_user_posts)
