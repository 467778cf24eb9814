"""Reads for users: querysets for the GraphQL layer to page through."""

from __future__ import annotations

from typing import Iterable

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from common.sql import first_per_parent
from common.validation import clean_search

from .models import Follow, User


def user_get_by_username(username: str) -> User | None:
    return User.objects.filter(username__iexact=username.strip(), is_active=True).first()


def users_by_mentions(usernames: Iterable[str]) -> list[int]:
    """Ids of the active users with these (lower-case) usernames, in the order given: the one lookup
    of who a post or comment mentions (the names come from feed.parsing.parse_mentions).

    One query on the unique lower(username) index (users_username_ci_unique); unknown names are skipped.
    """
    names = list(dict.fromkeys(usernames))
    if not names:
        return []
    by_name = dict(
        User.objects.annotate(name=Lower("username")).filter(name__in=names, is_active=True)
        .values_list("name", "pk")
    )
    return [by_name[name] for name in names if name in by_name]


def user_list(*, search: str | None = None) -> QuerySet[User]:
    users = User.objects.filter(is_active=True)
    search = clean_search(search)
    if search:
        users = users.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    return users


def followers_of(user: User) -> QuerySet[Follow]:
    """Follows of ``user`` (who follows them), the follower joined in; order by (created_at, id)."""
    return Follow.objects.filter(followee=user).select_related("follower")


def following_of(user: User) -> QuerySet[Follow]:
    """Follows by ``user`` (whom they follow), the followee joined in."""
    return Follow.objects.filter(follower=user).select_related("followee")


# Followers and following lists: newest follow first, on follow_followee_idx / follow_follower_idx.
FOLLOW_ORDER = ("created_at", "id")


def first_followers(user_ids: Iterable[int], limit: int, reverse: bool = False) -> dict[int, list[Follow]]:
    """The first ``limit`` follows of each user (who follows them, newest first, the follower joined in):
    one LATERAL query for all of them (a nested `followers` list on a page of users)."""
    return first_per_parent(lambda: Follow.objects.select_related("follower"), "followee", user_ids,
                            FOLLOW_ORDER, limit, descending=True, reverse=reverse, shape="follows+follower")


def first_following(user_ids: Iterable[int], limit: int, reverse: bool = False) -> dict[int, list[Follow]]:
    """The first ``limit`` follows by each user (whom they follow, newest first, the followee joined in)."""
    return first_per_parent(lambda: Follow.objects.select_related("followee"), "follower", user_ids,
                            FOLLOW_ORDER, limit, descending=True, reverse=reverse, shape="follows+followee")


def following_ids(follower_id: int, user_ids) -> set[int]:
    """Which of ``user_ids`` the given user follows."""
    return set(
        Follow.objects.filter(follower_id=follower_id, followee_id__in=user_ids).values_list("followee_id", flat=True)
    )


def follower_ids(followee_id: int, user_ids) -> set[int]:
    """Which of ``user_ids`` follow the given user."""
    return set(
        Follow.objects.filter(followee_id=followee_id, follower_id__in=user_ids).values_list("follower_id", flat=True)
    )
