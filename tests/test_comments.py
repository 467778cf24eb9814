"""Comments and threaded replies: validation, permissions, exact counters, notifications."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from interactions import services
from interactions.models import Comment, Notification

from .interactions_support import counter_mismatches, kinds_for, make_post

pytestmark = pytest.mark.django_db


def _code(error: ValidationError, field: str) -> str:
    return error.error_dict[field][0].code


def test_comment_and_replies_keep_counters(alice, bob, carol):
    post = make_post(alice)
    top = services.comment_create(author=bob, post_id=post.pk, body="  first!  ")
    assert top.body == "first!" and top.parent_id is None
    reply = services.comment_create(author=carol, post_id=post.pk, body="a reply", parent_id=top.pk)
    services.comment_create(author=alice, post_id=post.pk, body="reply to reply", parent_id=reply.pk)
    post.refresh_from_db()
    top.refresh_from_db()
    reply.refresh_from_db()
    assert post.comment_count == 3  # replies included
    assert (top.reply_count, reply.reply_count) == (1, 1)
    assert counter_mismatches() == []


@pytest.mark.parametrize("body, code", [("", "required"), ("   \n ", "required"), ("x" * 1001, "too_long")])
def test_comment_body_limits(alice, body, code):
    post = make_post(alice)
    with pytest.raises(ValidationError) as error:
        services.comment_create(author=alice, post_id=post.pk, body=body)
    assert _code(error.value, "body") == code
    assert Comment.objects.count() == 0


def test_comment_body_of_exactly_1000_after_trim(alice):
    post = make_post(alice)
    comment = services.comment_create(author=alice, post_id=post.pk, body=" " + "y" * 1000 + " ")
    assert len(comment.body) == 1000


def test_parent_must_be_on_the_same_post(alice, bob):
    post, other = make_post(alice), make_post(alice)
    foreign = services.comment_create(author=bob, post_id=other.pk, body="elsewhere")
    with pytest.raises(ValidationError) as error:
        services.comment_create(author=bob, post_id=post.pk, body="x", parent_id=foreign.pk)
    assert _code(error.value, "parent_id") == "invalid"
    with pytest.raises(ValidationError) as error:
        services.comment_create(author=bob, post_id=post.pk, body="x", parent_id=424242)
    assert _code(error.value, "parent_id") == "not_found"
    with pytest.raises(ValidationError) as error:
        services.comment_create(author=bob, post_id=424242, body="x")
    assert _code(error.value, "post_id") == "not_found"
    post.refresh_from_db()
    foreign.refresh_from_db()
    assert post.comment_count == 0 and foreign.reply_count == 0  # rolled back
    assert counter_mismatches() == []


def test_only_the_author_edits(alice, bob):
    post = make_post(alice)
    comment = services.comment_create(author=bob, post_id=post.pk, body="tpyo")
    assert comment.edited_at is None
    with pytest.raises(PermissionDenied):
        services.comment_update(user=alice, comment_id=comment.pk, body="hijacked")
    edited = services.comment_update(user=bob, comment_id=comment.pk, body=" typo ")
    assert edited.body == "typo" and edited.edited_at is not None
    with pytest.raises(ValidationError) as error:
        services.comment_update(user=bob, comment_id=comment.pk, body="z" * 1001)
    assert _code(error.value, "body") == "too_long"
    comment.refresh_from_db()
    assert comment.body == "typo"


def test_delete_removes_the_thread_and_keeps_counters(alice, bob, carol):
    post = make_post(alice)
    top = services.comment_create(author=bob, post_id=post.pk, body="top")
    keep = services.comment_create(author=carol, post_id=post.pk, body="keep", parent_id=top.pk)
    doomed = services.comment_create(author=carol, post_id=post.pk, body="doomed", parent_id=top.pk)
    for i in range(3):
        child = services.comment_create(author=bob, post_id=post.pk, body=f"child {i}", parent_id=doomed.pk)
    services.comment_create(author=alice, post_id=post.pk, body="grandchild", parent_id=child.pk)
    post.refresh_from_db()
    assert post.comment_count == 7

    deleted = services.comment_delete(user=carol, comment_id=doomed.pk)
    assert deleted.pk == doomed.pk
    post.refresh_from_db()
    top.refresh_from_db()
    assert post.comment_count == 2
    assert top.reply_count == 1
    assert set(Comment.objects.values_list("pk", flat=True)) == {top.pk, keep.pk}
    # Notifications about the deleted comments went with them.
    assert not Notification.objects.exclude(comment__isnull=True).exclude(comment_id__in=[top.pk, keep.pk]).exists()
    assert counter_mismatches() == []


def test_who_may_delete(alice, bob, carol):
    post = make_post(alice)
    by_bob = services.comment_create(author=bob, post_id=post.pk, body="bob's")
    by_carol = services.comment_create(author=carol, post_id=post.pk, body="carol's")
    with pytest.raises(PermissionDenied):
        services.comment_delete(user=carol, comment_id=by_bob.pk)
    services.comment_delete(user=alice, comment_id=by_bob.pk)  # the post's author
    services.comment_delete(user=carol, comment_id=by_carol.pk)  # its author
    with pytest.raises(ValidationError) as error:
        services.comment_delete(user=carol, comment_id=by_carol.pk)
    assert _code(error.value, "comment_id") == "not_found"
    post.refresh_from_db()
    assert post.comment_count == 0


def test_comment_notifications(alice, bob, carol):
    post = make_post(alice)
    top = services.comment_create(author=bob, post_id=post.pk, body="nice post")
    services.comment_create(author=carol, post_id=post.pk, body="agreed @BOB and @alice, hi @nobody", parent_id=top.pk)
    services.comment_create(author=bob, post_id=post.pk, body="replying to myself", parent_id=top.pk)
    services.comment_create(author=alice, post_id=post.pk, body="my own post, @carol")
    # alice: COMMENT from bob, COMMENT from carol (a reply on her post, mention folded in), COMMENT from bob.
    assert kinds_for(alice) == [("COMMENT", "bob"), ("COMMENT", "carol"), ("COMMENT", "bob")]
    # bob: REPLY from carol (his mention folded into it); nothing for replying to himself.
    assert kinds_for(bob) == [("REPLY", "carol")]
    assert kinds_for(carol) == [("MENTION", "alice")]


def test_edit_notifies_only_new_mentions(alice, bob, carol):
    post = make_post(alice)
    comment = services.comment_create(author=alice, post_id=post.pk, body="hi @bob")
    services.comment_update(user=alice, comment_id=comment.pk, body="hi @bob and @carol")
    services.comment_update(user=alice, comment_id=comment.pk, body="hi @carol")
    services.comment_update(user=alice, comment_id=comment.pk, body="hi @carol and @bob")
    assert kinds_for(bob) == [("MENTION", "alice")]
    assert kinds_for(carol) == [("MENTION", "alice")]
