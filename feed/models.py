from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F
from django.utils import timezone

POST_BODY_MAX = 2000
HASHTAG_MAX = 100


class Post(models.Model):
    """Something a user wrote. Counters are denormalized and kept exact by the services."""

    # db_index=False: post_author_created_idx (author, created_at, id) serves lookups by author.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts", db_index=False)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(null=True, blank=True)
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
        ]

    def __str__(self) -> str:
        return f"Post {self.pk} by {self.author_id}"


class PostHashtag(models.Model):
    """One hashtag of one post: lets `posts(filter: {hashtag})` and trends seek by tag and time."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="hashtag_rows")
    tag = models.CharField(max_length=HASHTAG_MAX)
    created_at = models.DateTimeField()  # the post's created_at, copied for index-only seeks

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "tag"], name="posthashtag_unique")]
        indexes = [
            models.Index(F("tag"), F("created_at").desc(), F("post").desc(), name="posthashtag_tag_idx"),
            models.Index(F("created_at").desc(), name="posthashtag_created_idx"),
        ]
