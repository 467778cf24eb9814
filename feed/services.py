"""Writes for posts: create, edit, delete.

Hashtags and mentions are parsed from the body on create and on edit and kept
in sync in the same transaction (Post.hashtags, PostHashtag rows, the mentions
M2M). The author's post_count changes in the same transaction as the row. Events
go out after commit (common.events.publish); MENTION notifications are the
notifications app's job, on the ``post_mentions_changed`` signal. Deleting hides the
post at once (``deleted_at``); the task feed.purge_post removes it and what hangs on
it afterwards, in batches (feed/purge.py).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common import events
from common.tasks import enqueue_on_commit
from common.validation import clean_text
from users.models import User
from users.selectors import users_by_mentions

from .models import POST_BODY_MAX, Post, PostHashtag
from .parsing import parse_hashtags, parse_mentions
from .permissions import post_can_delete, post_can_edit
from .signals import post_mentions_changed


def _clean_body(body: str | None) -> str:
    return clean_text(body, field="body", max_length=POST_BODY_MAX, label="A post",
                      required="A post needs some text.")


def _sync_mentions(post: Post, user_ids: list[int]) -> list[int]:
    """Makes the post mention exactly ``user_ids``; returns the ids newly mentioned."""
    through = Post.mentions.through
    current = set(through.objects.filter(post_id=post.pk).values_list("user_id", flat=True))
    wanted = set(user_ids)
    if current - wanted:
        through.objects.filter(post_id=post.pk, user_id__in=current - wanted).delete()
    added = [pk for pk in user_ids if pk not in current]
    if added:
        through.objects.bulk_create([through(post_id=post.pk, user_id=pk) for pk in added], ignore_conflicts=True)
    return added


def _sync_hashtags(post: Post, tags: list[str], *, new: bool) -> None:
    if not new:
        PostHashtag.objects.filter(post_id=post.pk).exclude(tag__in=tags).delete()
    if tags:
        PostHashtag.objects.bulk_create(
            [PostHashtag(post_id=post.pk, tag=tag, created_at=post.created_at) for tag in tags],
            ignore_conflicts=True,
        )


def post_create(*, author: User, body: str) -> Post:
    body = _clean_body(body)
    tags = parse_hashtags(body)
    with transaction.atomic():
        post = Post.objects.create(author=author, body=body, hashtags=tags)
        _sync_hashtags(post, tags, new=True)
        added = _sync_mentions(post, users_by_mentions(parse_mentions(body)))
        User.objects.filter(pk=author.pk).update(post_count=F("post_count") + 1)
        if added:
            post_mentions_changed.send(sender=Post, post=post, added_user_ids=added)
        events.publish("post_created", post_id=post.pk, author_id=author.pk, hashtags=tags)
    author.post_count += 1  # the caller's copy, for the payload
    return post


def _get_post_for_update(post_id: int) -> Post:
    post = Post.objects.select_for_update().filter(pk=post_id).first()
    if post is None:
        raise ValidationError({"post_id": ValidationError("No post has this id.", code="not_found")})
    return post


def post_update(*, viewer: User, post_id: int, body: str) -> Post:
    """Edits the body (author only): sets edited_at, re-parses hashtags and mentions."""
    body = _clean_body(body)
    with transaction.atomic():
        post = _get_post_for_update(post_id)
        if not post_can_edit(viewer, post):
            raise PermissionDenied("Only its author may change this post.")
        tags = parse_hashtags(body)
        post.body = body
        post.hashtags = tags
        post.edited_at = timezone.now()
        post.save(update_fields=["body", "hashtags", "edited_at", "updated_at"])
        _sync_hashtags(post, tags, new=False)
        added = _sync_mentions(post, users_by_mentions(parse_mentions(body)))
        if added:
            post_mentions_changed.send(sender=Post, post=post, added_user_ids=added)
        events.publish("post_updated", post_id=post.pk, content=True)  # ends the response cache's generation
    post.author = viewer
    return post


def post_delete(*, viewer: User, post_id: int) -> int:
    """Deletes a post (author only); returns its id. Answers at once, whatever hangs on the post.

    One short transaction: the post is marked deleted (``deleted_at``), which hides it from every read
    and refuses every write on it (Post.objects leaves it out; the interactions' raw SQL checks the
    mark); its hashtag rows go (a few), so hashtag lists and trends drop it at once; the author's
    post_count drops. After commit: the ``post_deleted`` event, and the task feed.purge_post, which
    deletes its likes, shares, bookmarks, comments, notifications and stats in batches, each batch with
    the counters that counted its rows, then the post row (feed/purge.py).
    """
    with transaction.atomic():
        post = _get_post_for_update(post_id)
        if not post_can_delete(viewer, post):
            raise PermissionDenied("Only its author may change this post.")
        Post.all_objects.filter(pk=post.pk).update(deleted_at=timezone.now())
        PostHashtag.objects.filter(post_id=post.pk).delete()
        User.objects.filter(pk=viewer.pk).update(post_count=F("post_count") - 1)
        events.publish("post_deleted", post_id=post_id, author_id=viewer.pk)
        enqueue_on_commit("feed.purge_post", post_id)
    viewer.post_count = max(0, viewer.post_count - 1)
    return post_id


def posts_hide_of_author(user_id: int) -> int:
    """A deleted user's posts hidden at once (one UPDATE, in the user's deletion transaction); they are
    purged with the user (users/purge.py asks feed on ``user_purging``). Returns how many."""
    return Post.all_objects.filter(author_id=user_id, deleted_at__isnull=True).update(deleted_at=timezone.now())
