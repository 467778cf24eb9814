"""Post lists ranked by analytics (an author's most engaging posts); trending posts are in :mod:`analytics.trends`."""

from __future__ import annotations

from django.db.models import F

from feed.models import Post


def top_posts(author_id: int, first: int) -> list[Post]:
    """The author's posts with the most engagement (likes + comments + shares), then newest first."""
    return list(
        Post.objects.filter(author_id=author_id)
        .select_related("author")
        .order_by((F("like_count") + F("comment_count") + F("share_count")).desc(), F("created_at").desc(),
                  F("id").desc())[:first]
    )
