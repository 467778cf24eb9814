from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F
from django.utils import timezone

from common.joins import LeanJoinQuerySet

POST_BODY_MAX = 2000
HASHTAG_MAX = 100

# Post columns no response needs (the search vector is as big as the body): Post.objects leaves them
# out, and so does every select_related() of a post through PostLinkedQuerySet. A query that needs
# one asks for it by name (filters on it need nothing: they do not load it).
POST_DEFERRED = ("search_vector",)


class PostManager(models.Manager):
    """Post.objects: the posts anyone may see (not deleted: ``deleted_at`` null), without the deferred
    columns (POST_DEFERRED). Every read and write of the service goes through it, so a deleted post is
    gone from every list and lookup the moment its deletion commits; only the purge
    (feed/purge.py) reads hidden posts, through ``Post.all_objects``."""

    def get_queryset(self):
        return LeanJoinQuerySet(self.model, using=self._db).filter(deleted_at__isnull=True).defer(*POST_DEFERRED)


class PostLinkedQuerySet(LeanJoinQuerySet):
    """For models with a foreign key to Post: select_related() of a post (or a user) leaves its deferred
    columns out (common/joins.py)."""


class Post(models.Model):
    """Something a user wrote. Counters are denormalized and kept exact by the services."""

    # db_index=False: post_author_created_idx (author, created_at, id) serves lookups by author.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts", db_index=False)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Set when the post is deleted: hidden from every read at once, purged in batches by a task (feed/purge.py).
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Lower-cased, without '#', in order of first use; mirrored in PostHashtag for seeks.
    hashtags = ArrayField(models.CharField(max_length=HASHTAG_MAX), default=list, blank=True)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in")

    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    share_count = models.PositiveIntegerField(default=0)
    view_count = models.PositiveBigIntegerField(default=0)

    search_vector = models.GeneratedField(
        expression=SearchVector("body", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    # What a join of posts leaves out (common/joins.py).
    JOIN_DEFERRED = POST_DEFERRED

    objects = PostManager()
    all_objects = models.Manager()  # hidden (deleted, not yet purged) posts included: the purge only

    class Meta:
        indexes = [
            # Keyset orderings of Query.posts (scanned backwards for ASC).
            models.Index(F("created_at").desc(), F("id").desc(), name="post_created_idx"),
            models.Index(F("like_count").desc(), F("id").desc(), name="post_likes_idx"),
            models.Index(F("comment_count").desc(), F("id").desc(), name="post_comments_idx"),
            models.Index(F("share_count").desc(), F("id").desc(), name="post_shares_idx"),
            # User.posts, filter(author:), and the home feed's per-author seek.
            models.Index(F("author"), F("created_at").desc(), F("id").desc(), name="post_author_created_idx"),
            GinIndex(fields=["search_vector"], name="post_search_idx"),
            # The purge's sweep: the (few) posts deleted but not yet purged.
            models.Index(F("deleted_at"), name="post_hidden_idx", condition=models.Q(deleted_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Post {self.pk} by {self.author_id}"


class PostHashtag(models.Model):
    """One hashtag of one post: lets `posts(filter: {hashtag})` and trends seek by tag and time."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="hashtag_rows")
    tag = models.CharField(max_length=HASHTAG_MAX)
    created_at = models.DateTimeField()  # the post's created_at, copied for index-only seeks

    objects = PostLinkedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "tag"], name="posthashtag_unique")]
        indexes = [
            models.Index(F("tag"), F("created_at").desc(), F("post").desc(), name="posthashtag_tag_idx"),
            models.Index(F("created_at").desc(), name="posthashtag_created_idx"),
        ]
