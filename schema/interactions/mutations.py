"""Mutations of interactions: likes, comments, shares, bookmarks.

Thin: decode the global ids, call interactions.services, load what the payload selects.
Liking, sharing or bookmarking twice changes nothing; undoing what was never done is not an
error either. A missing post or comment is a NOT_FOUND UserError on its input field.
"""

import graphene

from feed import selectors as feed_selectors
from interactions import services

from ..core.mutations import BaseMutation
from ..core.node import decode_id, global_id
from ..core.selection import selected_fields
from ..feed.types import Post
from .types import Comment, Like, Share


# The fields of a payload object that read its post: when the payload selects one, the post is attached to it.
_READS_POST = {"like": {"post"}, "share": {"post"}, "comment": {"post", "viewerCanDelete"}}


def _post(info, post_id: int, **payload):
    """The post after the change (fresh counters), loaded only when the payload selects something needing it:
    ``post``, or a field of a payload object (``like=like``, ``comment=...``) that reads the post — attached to
    that object, so ``like { post }`` etc. cost nothing more."""
    attach_to = [obj for name, obj in payload.items()
                 if obj is not None and _READS_POST[name] & selected_fields(info, name)]
    if "post" not in selected_fields(info) and not attach_to:
        return None
    post = feed_selectors.post_get(post_id)
    if post is not None:
        for obj in attach_to:
            obj.post = post
    return post


class LikePost(BaseMutation):
    """Likes a post; liking again changes nothing."""

    class Input:
        post_id = graphene.ID(required=True, description="The global id of the post.")

    post = graphene.Field(Post, description="The post, with its updated likeCount.")
    like = graphene.Field(Like, description="The viewer's like (the existing one when liked before).")
    write_limit = "likes"

    @classmethod
    def perform(cls, info, viewer, post_id):
        pk = decode_id(post_id, "Post", "post_id")
        like, _ = services.like_create(user=viewer, post_id=pk)
        if like is not None:
            like.user = viewer
        return {"post": _post(info, pk, like=like), "like": like}


class _PostAction(BaseMutation):
    """A change to the viewer's relation to one post, answered with the post."""

    class Meta:
        abstract = True

    class Input:
        post_id = graphene.ID(required=True, description="The global id of the post.")

    service = None  # the interactions service: (user=, post_id=)

    @classmethod
    def perform(cls, info, viewer, post_id):
        pk = decode_id(post_id, "Post", "post_id")
        cls.service(user=viewer, post_id=pk)
        return {"post": _post(info, pk)}


class UnlikePost(_PostAction):
    """Takes a like back; doing it again changes nothing."""

    post = graphene.Field(Post, description="The post, with its updated likeCount.")
    service = staticmethod(services.like_delete)


class CreateComment(BaseMutation):
    """Comments on a post (1-1000 characters), or replies to a comment on the same post."""

    class Input:
        post_id = graphene.ID(required=True, description="The global id of the post.")
        body = graphene.String(required=True, description="The text: 1-1000 characters after trimming.")
        parent_id = graphene.ID(description="The comment this replies to, on the same post.")

    comment = graphene.Field(Comment, description="The new comment.")
    post = graphene.Field(Post, description="The post, with its updated commentCount.")
    write_limit = "comments"

    @classmethod
    def perform(cls, info, viewer, post_id, body, parent_id=None):
        pk = decode_id(post_id, "Post", "post_id")
        parent_pk = decode_id(parent_id, "Comment", "parent_id") if parent_id is not None else None
        comment = services.comment_create(author=viewer, post_id=pk, body=body, parent_id=parent_pk)
        comment.author = viewer
        return {"comment": comment, "post": _post(info, pk, comment=comment)}


class UpdateComment(BaseMutation):
    """Edits a comment's body; only its author may."""

    class Input:
        comment_id = graphene.ID(required=True, description="The global id of the comment.")
        body = graphene.String(required=True, description="The new text: 1-1000 characters after trimming.")

    comment = graphene.Field(Comment, description="The edited comment.")

    @classmethod
    def perform(cls, info, viewer, comment_id, body):
        pk = decode_id(comment_id, "Comment", "comment_id")
        comment = services.comment_update(user=viewer, comment_id=pk, body=body)
        comment.author = viewer
        return {"comment": comment}


class DeleteComment(BaseMutation):
    """Deletes a comment with its replies; its author or the post's author may."""

    class Input:
        comment_id = graphene.ID(required=True, description="The global id of the comment.")

    deleted_comment_id = graphene.ID(description="The global id of the deleted comment.")
    post = graphene.Field(Post, description="The post, with its updated commentCount.")

    @classmethod
    def perform(cls, info, viewer, comment_id):
        pk = decode_id(comment_id, "Comment", "comment_id")
        comment = services.comment_delete(user=viewer, comment_id=pk)
        return {"deleted_comment_id": global_id("Comment", pk), "post": _post(info, comment.post_id)}


class SharePost(BaseMutation):
    """Shares a post to the viewer's followers; sharing again changes nothing."""

    class Input:
        post_id = graphene.ID(required=True, description="The global id of the post.")
        comment = graphene.String(description="What to say about it: 0-500 characters after trimming.")

    share = graphene.Field(Share, description="The viewer's share (the existing one when shared before).")
    post = graphene.Field(Post, description="The post, with its updated shareCount.")

    @classmethod
    def perform(cls, info, viewer, post_id, comment=None):
        pk = decode_id(post_id, "Post", "post_id")
        share, _ = services.share_create(user=viewer, post_id=pk, comment=comment)
        if share is not None:
            share.user = viewer
        return {"share": share, "post": _post(info, pk, share=share)}


class UnsharePost(_PostAction):
    """Takes a share back; doing it again changes nothing."""

    post = graphene.Field(Post, description="The post, with its updated shareCount.")
    service = staticmethod(services.share_delete)


class BookmarkPost(_PostAction):
    """Bookmarks a post, privately; bookmarking again changes nothing."""

    post = graphene.Field(Post, description="The post bookmarked.")
    service = staticmethod(services.bookmark_create)


class UnbookmarkPost(_PostAction):
    """Removes a bookmark; doing it again changes nothing."""

    post = graphene.Field(Post, description="The post no longer bookmarked.")
    service = staticmethod(services.bookmark_delete)


class InteractionMutations(graphene.ObjectType):
    like_post = LikePost.Field()
    unlike_post = UnlikePost.Field()
    create_comment = CreateComment.Field()
    update_comment = UpdateComment.Field()
    delete_comment = DeleteComment.Field()
    share_post = SharePost.Field()
    unshare_post = UnsharePost.Field()
    bookmark_post = BookmarkPost.Field()
    unbookmark_post = UnbookmarkPost.Field()
