import graphene

from feed import services

from ..core.mutations import BaseMutation
from ..core.node import decode_id, global_id
from .types import Post


class CreatePost(BaseMutation):
    """Publishes a post; hashtags and @mentions in the body are picked up."""

    class Input:
        body = graphene.String(required=True, description="The text: 1-2000 characters after trimming.")

    post = graphene.Field(Post, description="The new post.")
    write_limit = "posts"

    @classmethod
    def perform(cls, info, viewer, body):
        return {"post": services.post_create(author=viewer, body=body)}


class UpdatePost(BaseMutation):
    """Edits a post's body; only its author may."""

    class Input:
        post_id = graphene.ID(required=True, description="The global id of the post.")
        body = graphene.String(required=True, description="The new text: 1-2000 characters after trimming.")

    post = graphene.Field(Post, description="The edited post.")

    @classmethod
    def perform(cls, info, viewer, post_id, body):
        pk = decode_id(post_id, "Post", "post_id")
        return {"post": services.post_update(viewer=viewer, post_id=pk, body=body)}


class DeletePost(BaseMutation):
    """Deletes a post with its comments, likes and shares; only its author may. Answers at once: the post is
    gone from every read and refuses every write from then on; what hangs on it is deleted in the background."""

    class Input:
        post_id = graphene.ID(required=True, description="The global id of the post.")

    deleted_post_id = graphene.ID(description="The global id of the deleted post.")

    @classmethod
    def perform(cls, info, viewer, post_id):
        pk = decode_id(post_id, "Post", "post_id")
        services.post_delete(viewer=viewer, post_id=pk)
        return {"deleted_post_id": global_id("Post", pk)}


class FeedMutations(graphene.ObjectType):
    create_post = CreatePost.Field()
    update_post = UpdatePost.Field()
    delete_post = DeletePost.Field()
