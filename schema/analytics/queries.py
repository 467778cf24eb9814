"""Query fields of trends: trendingPosts, trendingHashtags (``analytics.trends`` keeps the cached rankings)."""

from __future__ import annotations

import graphene

from analytics import trends

from ..core.connection import page_size
from ..core.enums import enum_value
from .types import POST_TYPE, HashtagTrend, TrendWindow


class AnalyticsQueries(graphene.ObjectType):
    trending_posts = graphene.List(
        graphene.NonNull(POST_TYPE),
        required=True,
        description="Posts with the most engagement in the window, weighted towards recent interactions.",
        first=graphene.Int(description="How many (default 20, at most 100)."),
        window=TrendWindow(description="How far back to look (default DAY)."),
    )
    trending_hashtags = graphene.List(
        graphene.NonNull(HashtagTrend),
        required=True,
        description="Hashtags used by the most posts in the window.",
        first=graphene.Int(description="How many (default 20, at most 100)."),
        window=TrendWindow(description="How far back to look (default DAY)."),
    )

    @staticmethod
    def resolve_trending_posts(root, info, first=None, window=None):
        return trends.trending_posts(enum_value(window, "DAY"), page_size(first))

    @staticmethod
    def resolve_trending_hashtags(root, info, first=None, window=None):
        return [HashtagTrend(tag=tag, post_count=count)
                for tag, count in trends.trending_hashtags(enum_value(window, "DAY"), page_size(first))]
