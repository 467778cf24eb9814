"""Comments and threaded replies: validation, permissions, exact counters, notifications."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from interactions import services
from interactions.models import Comment
from notifications.models import Notification

from tests.support.interactions import counter_mismatches, gid, kinds_for, make_post

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


# --- through the API ---------------------------------------------------------------------------
CREATE = """mutation($post: ID!, $body: String!, $parent: ID) {
  createComment(input: {postId: $post, body: $body, parentId: $parent}) {
    comment { id body author { username } parent { id } post { id } replyCount viewerCanUpdate viewerCanDelete }
    post { commentCount } errors { field code message } } }"""
UPDATE = """mutation($id: ID!, $body: String!) { updateComment(input: {commentId: $id, body: $body}) {
  comment { body editedAt } errors { field code message } } }"""
DELETE = """mutation($id: ID!) { deleteComment(input: {commentId: $id}) {
  deletedCommentId post { commentCount } errors { field code message } } }"""


def test_comment_mutations(gql, alice, bob):
    post = make_post(alice)
    r = gql(CREATE, {"post": gid("Post", post.pk), "body": " Great post! "}, user=bob)
    assert r.errors is None, r.body
    payload = r.data["createComment"]
    assert payload["errors"] == []
    top = payload["comment"]
    assert top["body"] == "Great post!" and top["author"]["username"] == "bob" and top["parent"] is None
    assert top["post"]["id"] == gid("Post", post.pk)
    assert (top["viewerCanUpdate"], top["viewerCanDelete"]) == (True, True)
    assert payload["post"]["commentCount"] == 1

    reply = gql(CREATE, {"post": gid("Post", post.pk), "body": "thanks", "parent": top["id"]}, user=alice)
    reply = reply.data["createComment"]
    assert reply["comment"]["parent"]["id"] == top["id"] and reply["post"]["commentCount"] == 2

    edited = gql(UPDATE, {"id": top["id"], "body": "Great post!!"}, user=bob).data["updateComment"]
    assert edited["errors"] == [] and edited["comment"]["body"] == "Great post!!" and edited["comment"]["editedAt"]
    refused = gql(UPDATE, {"id": top["id"], "body": "mine now"}, user=alice).data["updateComment"]
    assert refused["comment"] is None and [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]

    # The post's author deletes bob's comment, and the reply with it.
    deleted = gql(DELETE, {"id": top["id"]}, user=alice).data["deleteComment"]
    assert deleted == {"deletedCommentId": top["id"], "post": {"commentCount": 0}, "errors": []}
    again = gql(DELETE, {"id": top["id"]}, user=alice).data["deleteComment"]
    assert again["deletedCommentId"] is None and again["errors"][0]["code"] == "NOT_FOUND"
    assert again["errors"][0]["field"] == "commentId"


def test_comment_input_errors(gql, alice, bob):
    post = make_post(alice)
    other = make_post(alice)
    elsewhere = services.comment_create(author=bob, post_id=other.pk, body="elsewhere")
    cases = [
        ({"post": gid("Post", post.pk), "body": "   "}, ("body", "REQUIRED")),
        ({"post": gid("Post", post.pk), "body": "x" * 1001}, ("body", "TOO_LONG")),
        ({"post": gid("Post", 999999), "body": "hi"}, ("postId", "NOT_FOUND")),
        ({"post": gid("Post", post.pk), "body": "hi", "parent": gid("Comment", 999999)}, ("parentId", "NOT_FOUND")),
        ({"post": gid("Post", post.pk), "body": "hi", "parent": gid("Post", post.pk)}, ("parentId", "NOT_FOUND")),
        ({"post": gid("Post", post.pk), "body": "hi", "parent": gid("Comment", elsewhere.pk)}, ("parentId", "INVALID")),
    ]
    for variables, expected in cases:
        r = gql(CREATE, variables, user=bob)
        assert r.errors is None, r.body
        payload = r.data["createComment"]
        assert payload["comment"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [expected], variables
    post.refresh_from_db()
    assert post.comment_count == 0
    r = gql(UPDATE, {"id": gid("Comment", elsewhere.pk), "body": ""}, user=bob)
    assert [(e["field"], e["code"]) for e in r.data["updateComment"]["errors"]] == [("body", "REQUIRED")]
    r = gql(DELETE, {"id": gid("Comment", elsewhere.pk)}, user=bob)
    assert r.data["deleteComment"]["errors"] == []


def test_comment_mutations_need_a_viewer(gql, alice):
    post = make_post(alice)
    comment = services.comment_create(author=alice, post_id=post.pk, body="mine")
    for query, variables in ((CREATE, {"post": gid("Post", post.pk), "body": "x"}),
                             (UPDATE, {"id": gid("Comment", comment.pk), "body": "x"}),
                             (DELETE, {"id": gid("Comment", comment.pk)})):
        r = gql(query, variables)
        assert r.error_codes() == ["UNAUTHENTICATED"]
    assert Comment.objects.count() == 1


def test_delete_forbidden_for_others(gql, alice, bob, carol):
    post = make_post(alice)
    comment = services.comment_create(author=bob, post_id=post.pk, body="bob's")
    r = gql(DELETE, {"id": gid("Comment", comment.pk)}, user=carol)
    assert [e["code"] for e in r.data["deleteComment"]["errors"]] == ["FORBIDDEN"]
    assert Comment.objects.filter(pk=comment.pk).exists()
