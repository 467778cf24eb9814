"""Writes for users: registration, profiles and the follow graph.

Counters (follower_count, following_count) change in the same transaction as
the Follow row, and only when a row was really inserted or deleted, so
following twice or unfollowing twice changes nothing.
"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import connection, transaction
from django.db.models import F

from common.validation import strip_blank

from .models import BIO_MAX, DISPLAY_NAME_MAX, USERNAME_MAX, USERNAME_MIN, Follow, User, username_validator
from .signals import follow_created, user_deleting


def _clean_text(value: str | None) -> str:
    return strip_blank(value)


def _check_length(errors: dict, field: str, value: str, limit: int, label: str) -> None:
    if len(value) > limit:
        errors[field] = ValidationError(f"{label} is at most {limit} characters.", code="too_long")


def user_create(*, username: str, email: str, password: str, display_name: str | None = None) -> User:
    username = _clean_text(username)
    email = _clean_text(email)
    display_name = _clean_text(display_name)
    errors: dict[str, ValidationError] = {}

    if not username:
        errors["username"] = ValidationError("A username is required.", code="required")
    elif len(username) > USERNAME_MAX:
        errors["username"] = ValidationError(f"A username is at most {USERNAME_MAX} characters.", code="too_long")
    elif len(username) < USERNAME_MIN:
        errors["username"] = ValidationError(f"A username is at least {USERNAME_MIN} characters.", code="invalid")
    else:
        try:
            username_validator(username)
        except ValidationError as error:
            errors["username"] = error
        else:
            if User.objects.filter(username__iexact=username).exists():
                errors["username"] = ValidationError("That username is taken.", code="duplicate")

    if not email:
        errors["email"] = ValidationError("An email address is required.", code="required")
    elif len(email) > 254:
        errors["email"] = ValidationError("An email address is at most 254 characters.", code="too_long")
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = ValidationError("Enter a valid email address.", code="invalid")
        else:
            if User.objects.filter(email__iexact=email).exists():
                errors["email"] = ValidationError("That email address is already registered.", code="duplicate")

    _check_length(errors, "display_name", display_name, DISPLAY_NAME_MAX, "A display name")

    if not password:
        errors["password"] = ValidationError("A password is required.", code="required")
    elif len(password) > 128:
        errors["password"] = ValidationError("A password is at most 128 characters.", code="too_long")
    else:
        try:
            password_validation.validate_password(password, User(username=username, email=email))
        except ValidationError as error:
            errors["password"] = ValidationError(" ".join(error.messages), code="invalid")

    if errors:
        raise ValidationError(errors)

    user = User(username=username, email=email, display_name=display_name or username)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except Exception as error:  # a concurrent registration took the name or email first
        from django.db import IntegrityError

        if isinstance(error, IntegrityError):
            text = str(error)
            field = "email" if "email" in text else "username"
            raise ValidationError({field: ValidationError(f"That {field} is taken.", code="duplicate")}) from None
        raise
    return user


_UNSET = object()


def user_update_profile(user: User, *, display_name=_UNSET, bio=_UNSET, avatar_url=_UNSET) -> User:
    """Updates the given fields (None or left out: unchanged)."""
    errors: dict[str, ValidationError] = {}
    changed = []
    if display_name not in (_UNSET, None):
        display_name = _clean_text(display_name)
        if not display_name:
            errors["display_name"] = ValidationError("A display name cannot be blank.", code="required")
        _check_length(errors, "display_name", display_name, DISPLAY_NAME_MAX, "A display name")
        user.display_name = display_name
        changed.append("display_name")
    if bio not in (_UNSET, None):
        bio = _clean_text(bio)
        _check_length(errors, "bio", bio, BIO_MAX, "A bio")
        user.bio = bio
        changed.append("bio")
    if avatar_url not in (_UNSET, None):
        avatar_url = _clean_text(avatar_url)
        if avatar_url:
            if len(avatar_url) > 500:
                errors["avatar_url"] = ValidationError("An avatar URL is at most 500 characters.", code="too_long")
            else:
                try:
                    URLValidator(schemes=["http", "https"])(avatar_url)
                except ValidationError:
                    errors["avatar_url"] = ValidationError("Enter a valid http(s) URL.", code="invalid")
        user.avatar_url = avatar_url
        changed.append("avatar_url")
    if errors:
        user.refresh_from_db(fields=changed)
        raise ValidationError(errors)
    if changed:
        user.save(update_fields=changed)
    return user


def _bump_follow_counters(follower_id: int, followee_id: int, delta: int) -> None:
    # Lock the two user rows in id order so concurrent follows cannot deadlock.
    for user_id in sorted((follower_id, followee_id)):
        if user_id == followee_id:
            User.objects.filter(pk=user_id).update(follower_count=F("follower_count") + delta)
        else:
            User.objects.filter(pk=user_id).update(following_count=F("following_count") + delta)


def follow_create(*, follower: User, followee: User) -> tuple[Follow | None, bool]:
    """Follows ``followee``. Returns (follow, created); following again changes nothing."""
    if follower.pk == followee.pk:
        raise ValidationError({"user_id": ValidationError("You cannot follow yourself.", code="invalid")})
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO users_follow (follower_id, followee_id, created_at) VALUES (%s, %s, now()) "
                "ON CONFLICT (follower_id, followee_id) DO NOTHING RETURNING id",
                [follower.pk, followee.pk],
            )
            row = cursor.fetchone()
        if row is None:
            return Follow.objects.filter(follower=follower, followee=followee).first(), False
        _bump_follow_counters(follower.pk, followee.pk, +1)
        follow = Follow.objects.get(pk=row[0])
        follow_created.send(sender=Follow, follow=follow)
    return follow, True


def follow_delete(*, follower: User, followee: User) -> bool:
    """Stops following ``followee``. Returns whether a follow was removed; unfollowing again changes nothing."""
    with transaction.atomic():
        deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
        if deleted:
            _bump_follow_counters(follower.pk, followee.pk, -1)
    return bool(deleted)


def user_delete(user: User) -> bool:
    """Deletes an account; returns whether it was there to delete. Answers at once, whatever the account owns.

    One short transaction (users/purge.py does the rest, in batches, off the request path): the user row
    is locked and marked (``is_active=False``: no login, its access tokens refused and refresh tokens
    unusable; ``deleted_at``; post_count 0), so the profile is gone from every read; its follows go both
    ways with the other users' counters (users.purge.delete_follows, set-based); on ``user_deleting``
    feed hides the user's posts (one UPDATE). After commit the task users.purge_user deletes the user's
    posts, likes, shares, bookmarks, comments (with the replies beneath) and notifications in batches,
    each batch with the counters that counted its rows, then the user row. (The admin site deletes
    through this; the viewer through ``deleteAccount``, :func:`account_delete`.)
    """
    from django.utils import timezone

    from common.tasks import enqueue_on_commit

    from .purge import delete_follows

    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk, deleted_at__isnull=True).first()
        if locked is None:
            return False
        locked.is_active, locked.deleted_at, locked.post_count = False, timezone.now(), 0
        locked.save(update_fields=["is_active", "deleted_at", "post_count"])
        delete_follows(locked.pk)
        user_deleting.send(sender=User, user_id=locked.pk)
        enqueue_on_commit("users.purge_user", locked.pk)
    user.is_active, user.deleted_at = False, locked.deleted_at
    return True


def account_delete(user: User, *, password: str | None) -> None:
    """The viewer deletes their own account (``deleteAccount``): the password is asked again, as Mastodon
    and GitHub do, so a stolen access token alone cannot destroy an account."""
    if not password:
        raise ValidationError({"password": ValidationError("Your password is required.", code="required")})
    if not user.check_password(password):
        raise ValidationError({"password": ValidationError("That password is not correct.", code="invalid")})
    user_delete(user)
