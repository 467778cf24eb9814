import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager as DjangoUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db.models.functions import Lower, Upper
from django.utils import timezone

from common.joins import LeanJoinQuerySet

USERNAME_MIN = 3
USERNAME_MAX = 30
DISPLAY_NAME_MAX = 50
BIO_MAX = 300
REFRESH_TOKEN_BYTES = 20  # 40 hex characters

username_validator = RegexValidator(
    regex=r"^[A-Za-z0-9_]{3,30}\Z",
    message="A username is 3 to 30 letters, digits or underscores.",
    code="invalid",
)


class UserManager(DjangoUserManager):
    def get_by_natural_key(self, username):
        # Logging in is case-insensitive, like the uniqueness of usernames.
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A person using the service. Counters are denormalized and kept exact by users/services.py."""

    username = models.CharField(
        max_length=USERNAME_MAX,
        unique=True,
        validators=[username_validator],
        error_messages={"unique": "That username is taken."},
    )
    email = models.EmailField(unique=True, error_messages={"unique": "That email is already registered."})
    first_name = None
    last_name = None
    display_name = models.CharField(max_length=DISPLAY_NAME_MAX, blank=True, default="")
    bio = models.CharField(max_length=BIO_MAX, blank=True, default="")
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    date_joined = models.DateTimeField(default=timezone.now)

    follower_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    post_count = models.PositiveIntegerField(default=0)
    # Set when the account is deleted (with is_active=False): hidden at once, purged by a task (users/purge.py).
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    # What a join of users (a post's author, a follower) leaves out: never shown for someone else, and
    # the password hash is the widest column (common/joins.py).
    JOIN_DEFERRED = ("password", "email", "last_login", "is_superuser", "is_staff")

    REQUIRED_FIELDS = ["email"]

    class Meta:
        db_table = "users_user"
        constraints = [
            models.UniqueConstraint(Lower("username"), name="users_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="users_email_ci_unique"),
        ]
        indexes = [
            # Query.users: newest first, keyset on (date_joined, id).
            models.Index(F("date_joined").desc(), F("id").desc(), name="users_joined_idx"),
            # Query.users(search:): icontains on username and display name (UPPER(..) LIKE).
            GinIndex(OpClass(Upper("username"), name="gin_trgm_ops"), name="users_username_trgm"),
            GinIndex(OpClass(Upper("display_name"), name="gin_trgm_ops"), name="users_display_trgm"),
            # The purge's sweep: the (few) accounts deleted but not yet purged.
            models.Index(F("deleted_at"), name="users_deleted_idx", condition=Q(deleted_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.username

    # --- the viewer of a request, from its access token ---------------------------------------------------
    @classmethod
    def from_token(cls, pk: int) -> "User":
        """The user an access token names, without reading the row: only ``pk`` is known. The first read of
        any other field loads the whole row (one query), as a deferred field does (schema/core/auth.py)."""
        user = cls.from_db("default", ["id"], [pk])
        user._whole_on_first_read = True
        return user

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        if fields is not None and self.__dict__.pop("_whole_on_first_read", False):
            fields = list({*fields, *self.get_deferred_fields()})  # every deferred field at once
        return super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_set")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_set")
    created_at = models.DateTimeField(default=timezone.now)

    objects = LeanJoinQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_unique_pair"),
            models.CheckConstraint(condition=~Q(follower=F("followee")), name="follow_not_self"),
        ]
        indexes = [
            # User.followers: most recent first.
            models.Index(F("followee"), F("created_at").desc(), F("id").desc(), name="follow_followee_idx"),
            # User.following: most recent first.
            models.Index(F("follower"), F("created_at").desc(), F("id").desc(), name="follow_follower_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} -> {self.followee_id}"


class RefreshToken(models.Model):
    """A refresh token: one link of a login session's rotation chain.

    django-graphql-jwt's refresh token (``JWT_REFRESH_TOKEN_MODEL``: the fields and methods it uses)
    plus ``session``: every token a login's rotations issue shares the login's session id, which
    the access tokens carry as ``sid``. Rotation revokes the traded-in token and keeps its row, so
    replaying it is recognised and ends the whole session (users/sessions.py).
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    token = models.CharField(max_length=255, editable=False)
    session = models.UUIDField(default=uuid.uuid4, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "users_refreshtoken"
        constraints = [models.UniqueConstraint(fields=["token"], name="refresh_token_unique")]
        indexes = [models.Index(fields=["session"], name="refresh_token_session_idx")]

    def __str__(self) -> str:
        return self.token

    def save(self, *args, **kwargs):
        if not self.token:
            self.token = secrets.token_hex(REFRESH_TOKEN_BYTES)
        super().save(*args, **kwargs)

    def get_token(self) -> str:
        return self.token

    def expires_at(self):
        return self.created + settings.GRAPHQL_JWT["JWT_REFRESH_EXPIRATION_DELTA"]

    def is_expired(self, request=None) -> bool:
        return timezone.now() > self.expires_at()

    def revoke(self, request=None) -> None:
        self.revoked = timezone.now()
        self.save(update_fields=["revoked"])
