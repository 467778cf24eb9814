"""Per-request loaders of analytics: each answers a whole page with one Redis round trip (and at most
one SQL query per kind of figure)."""

from __future__ import annotations

from analytics import keys, reads
from analytics.selectors import top_posts

from ..core.errors import ServiceUnavailable
from ..core.loaders import Loader


class PendingViews(Loader):
    """Views of each post still pending in Redis (not yet in ``view_count``): one HMGET per page, no SQL."""

    def batch(self, post_ids):
        return reads.pending_views(post_ids)


class UniqueViewers(Loader):
    """Each post's distinct viewers (HyperLogLog estimate): one Redis round trip per page."""

    _reachable: bool | None = None

    def load_or_refuse(self, post_id):
        """The count's future; raises ServiceUnavailable at once when Redis, the only place that holds it,
        is unreachable (one PING per request): a plain field error, the rest of the page stands."""
        if self._reachable is None:
            try:
                self._reachable = bool(keys.redis().ping())
            except keys.REDIS_DOWN:
                self._reachable = False
        if not self._reachable:
            raise ServiceUnavailable("Unique viewers are unavailable right now; try again shortly.")
        return self.load(post_id)

    def batch(self, post_ids):
        return reads.unique_viewers(post_ids)


class PostTimelines(Loader):
    """Timelines by (post id, span): one SQL query per bucket size and one Redis round trip per page."""

    def batch(self, keys):
        return reads.post_timelines(keys)


class UserTotals(Loader):
    """What each user's posts received: one SQL query and one Redis round trip."""

    def batch(self, user_ids):
        return reads.user_totals(user_ids)


class UserTimelines(Loader):
    """Timelines by (user id, span); only the viewer's own user gets one, so at most a few per request."""

    def batch(self, keys):
        return [reads.user_timeline(user_id, span) for user_id, span in keys]


class TopPosts(Loader):
    """A user's most engaging posts by (user id, how many)."""

    def batch(self, keys):
        return [top_posts(user_id, first) for user_id, first in keys]
