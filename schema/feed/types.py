"""GraphQL types of the feed domain (a first cut; the posts issue completes them)."""

import graphene
from graphene import relay
from graphene_django import DjangoObjectType

from feed.models import Post as PostModel

from ..core.connection import connection_type
from ..users.types import User


class Post(DjangoObjectType):
    """Something a user wrote."""

    class Meta:
        model = PostModel
        interfaces = (relay.Node,)
        fields = ("id", "body", "created_at", "updated_at", "edited_at")

    author = graphene.Field(User, required=True, description="Who wrote it.")
    body = graphene.String(required=True, description="The text, 1-2000 characters.")
    created_at = graphene.DateTime(required=True, description="When it was posted.")
    updated_at = graphene.DateTime(required=True, description="When it last changed in any way.")
    edited_at = graphene.DateTime(description="When the body was last edited; null when never.")


PostConnection = connection_type(Post, description="A page of posts.")
