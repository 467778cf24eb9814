"""GraphQL types of analytics: PostAnalytics, UserAnalytics and their buckets.

The app side is the ``analytics`` app (views and pending counts in Redis, hourly buckets in
PostgreSQL). Everything here reads through per-request loaders (schema/analytics/loaders.py), so a
page of posts costs one SQL query and one Redis round trip per kind of figure, whatever its size.
``Post.analytics``, ``Post.viewCount`` and ``User.analytics`` are declared on their types (by dotted
path) and resolved here: :func:`resolve_post_analytics`, :func:`resolve_view_count`,
:func:`resolve_user_analytics`.
"""

from __future__ import annotations

import graphene

from analytics import reads, trends
from analytics.hours import DAY, HOUR

from ..core import prefetch
from ..core.auth import get_viewer
from ..core.connection import page_size
from ..core.enums import enum_of, enum_value
from ..core.errors import BadUserInput
from ..core.loaders import then
from .loaders import PendingViews, PostTimelines, TopPosts, UniqueViewers, UserTimelines, UserTotals

POST_TYPE = "schema.feed.types.Post"


_BUCKET_SECONDS = {"HOUR": HOUR, "DAY": DAY}

TimeBucket = enum_of("TimeBucket", _BUCKET_SECONDS,
                     "The length of one bucket of a timeline (UTC hours or UTC days).", {
    "HOUR": "One UTC hour.",
    "DAY": "One UTC day (00:00 to 24:00 UTC).",
})

# The windows are analytics.trends.WINDOWS'.
TrendWindow = enum_of("TrendWindow", trends.WINDOWS, "How far back trends look.", {
    "HOUR": "The last 60 minutes.",
    "DAY": "The last 24 hours.",
    "WEEK": "The last 7 days.",
})


class InteractionBucket(graphene.ObjectType):
    """Counts of one time bucket."""

    start = graphene.DateTime(required=True, description="When the bucket starts (UTC, on the hour or the day).")
    views = graphene.Int(required=True, description="Views counted in the bucket.")
    likes = graphene.Int(
        required=True, description="Likes given in the bucket, minus likes taken back in it (so it can be negative)."
    )
    comments = graphene.Int(required=True, description="Comments and replies written in the bucket, minus those deleted in it.")
    shares = graphene.Int(required=True, description="Shares made in the bucket, minus those undone in it.")


class HashtagTrend(graphene.ObjectType):
    """A hashtag and how many posts of the window use it."""

    tag = graphene.String(required=True, description="The hashtag, lower-cased, without '#'.")
    post_count = graphene.Int(required=True, description="How many posts created in the window carry it.")


def _span(bucket, since, until, default_since):
    size = _BUCKET_SECONDS[enum_value(bucket, "HOUR")]
    try:
        return reads.bucket_span(size, since, until, default_since=default_since)
    except reads.AnalyticsInputError as error:
        raise BadUserInput(str(error), argument=error.argument) from None


def _timeline_field(description: str) -> graphene.List:
    return graphene.List(
        graphene.NonNull(InteractionBucket),
        required=True,
        description=description,
        bucket=TimeBucket(required=True, description="The length of each bucket."),
        since=graphene.DateTime(description="The first bucket is the one containing this time."),
        until=graphene.DateTime(
            description="Buckets start before this time (default: now, so the current bucket is included)."
        ),
    )


# --- the types --------------------------------------------------------------------------
class PostAnalytics(graphene.ObjectType):
    """Engagement with one post, current to the second (counts not yet folded into PostgreSQL included)."""

    view_count = graphene.Int(required=True, description="How many times the post was seen (impressions).")
    unique_viewer_count = graphene.Int(
        required=True, description="How many distinct viewers saw it (an estimate within about 1%)."
    )
    like_count = graphene.Int(required=True, description="How many users like the post.")
    comment_count = graphene.Int(required=True, description="All comments, replies included.")
    share_count = graphene.Int(required=True, description="How many users shared the post.")
    engagement_rate = graphene.Float(
        required=True, description="(likes + comments + shares) / views; 0 when there are no views."
    )
    timeline = _timeline_field(
        f"Buckets from `since` (default: the post's creation) to `until` (default: now), oldest first, empty "
        f"buckets included. At most {reads.MAX_BUCKETS} buckets (BAD_USER_INPUT beyond); when `since` is left "
        f"out, the last {reads.MAX_BUCKETS} at most."
    )

    @staticmethod
    def resolve_view_count(post, info):
        return then(PendingViews.of(info).load(post.pk), lambda pending: post.view_count + pending)

    @staticmethod
    def resolve_unique_viewer_count(post, info):
        return UniqueViewers.of(info).load_or_refuse(post.pk)

    @staticmethod
    def resolve_like_count(post, info):
        return post.like_count

    @staticmethod
    def resolve_comment_count(post, info):
        return post.comment_count

    @staticmethod
    def resolve_share_count(post, info):
        return post.share_count

    @staticmethod
    def resolve_engagement_rate(post, info):
        def rate(pending):
            views = post.view_count + pending
            engaged = post.like_count + post.comment_count + post.share_count
            return engaged / views if views > 0 else 0.0

        return then(PendingViews.of(info).load(post.pk), rate)

    @staticmethod
    def resolve_timeline(post, info, bucket, since=None, until=None):
        span = _span(bucket, since, until, post.created_at)
        return PostTimelines.of(info).load((post.pk, span))


class UserAnalytics(graphene.ObjectType):
    """Engagement with all of a user's posts."""

    views_received = graphene.Int(required=True, description="Views of all the user's posts.")
    likes_received = graphene.Int(required=True, description="Likes on all the user's posts.")
    comments_received = graphene.Int(required=True, description="Comments (replies included) on all the user's posts.")
    shares_received = graphene.Int(required=True, description="Shares of all the user's posts.")
    timeline = _timeline_field(
        f"Interactions with all of the user's posts, per bucket, oldest first, empty buckets included; `since` "
        f"defaults to when the user joined (at most the last {reads.MAX_BUCKETS} buckets), `until` to now."
    )
    top_posts = graphene.List(
        graphene.NonNull(POST_TYPE),
        required=True,
        description="The user's posts with the most engagement (likes + comments + shares), newest first on ties.",
        first=graphene.Int(description="How many (default 20, at most 100)."),
    )

    @staticmethod
    def _total(user, info, name):
        return then(UserTotals.of(info).load(user.pk), lambda totals: getattr(totals, name))

    @staticmethod
    def resolve_views_received(user, info):
        return UserAnalytics._total(user, info, "views")

    @staticmethod
    def resolve_likes_received(user, info):
        return UserAnalytics._total(user, info, "likes")

    @staticmethod
    def resolve_comments_received(user, info):
        return UserAnalytics._total(user, info, "comments")

    @staticmethod
    def resolve_shares_received(user, info):
        return UserAnalytics._total(user, info, "shares")

    @staticmethod
    def resolve_timeline(user, info, bucket, since=None, until=None):
        span = _span(bucket, since, until, user.date_joined)
        return UserTimelines.of(info).load((user.pk, span))

    @staticmethod
    def resolve_top_posts(user, info, first=None):
        return TopPosts.of(info).load((user.pk, page_size(first)))


def resolve_post_analytics(post, info):
    """``Post.analytics``: the post itself (PostAnalytics' root) for its author; null for anyone else."""
    viewer = get_viewer(info)
    return post if viewer is not None and viewer.pk == post.author_id else None


def resolve_user_analytics(user, info):
    """``User.analytics``: the user (UserAnalytics' root) for themselves; null for anyone else."""
    viewer = get_viewer(info)
    return user if viewer is not None and viewer.pk == user.pk else None


@prefetch.register("Post")
def _prefetch_post_views(info, posts, fields) -> None:
    """With a page of posts: their pending views (the PendingViews batch), as resolve_view_count loads them."""
    if "viewCount" in fields:
        PendingViews.of(info).prefetch([post.pk for post in posts])


def resolve_view_count(post, info):
    """``Post.viewCount``: the folded ``view_count`` plus views still pending in Redis (batched, no SQL)."""
    return then(PendingViews.of(info).load(post.pk), lambda pending: post.view_count + pending)
