"""Per-request loaders of users: by id, and the viewer's follow relations (one query per page)."""

from users.models import User
from users.selectors import first_followers, first_following, follower_ids, following_ids

from ..core.loaders import FirstRows, Loader, by_pk


class UserById(Loader):
    """Users by id (authors of posts and comments when they were not joined in)."""

    def batch(self, keys):
        return by_pk(User.objects.all(), keys)


class ViewerFollows(Loader):
    """Whether the viewer follows each user id: one query per page."""

    def batch(self, user_ids):
        viewer = self.viewer
        if viewer is None:
            return [False] * len(user_ids)
        followed = following_ids(viewer.pk, user_ids)
        return [user_id in followed for user_id in user_ids]


class FollowsViewer(Loader):
    """Whether each user id follows the viewer: one query per page."""

    def batch(self, user_ids):
        viewer = self.viewer
        if viewer is None:
            return [False] * len(user_ids)
        following = follower_ids(viewer.pk, user_ids)
        return [user_id in following for user_id in user_ids]


class FirstFollowers(FirstRows):
    """Each user's first followers (Follow rows, newest first, followers joined in): one query per level."""

    fetch = staticmethod(first_followers)


class FirstFollowing(FirstRows):
    """Whom each user follows first (Follow rows, newest first, followees joined in): one query per level."""

    fetch = staticmethod(first_following)
