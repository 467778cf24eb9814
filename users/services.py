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

from .models import BIO_MAX, DISPLAY_NAME_MAX, USERNAME_MAX, USERNAME_MIN, Follow, User, username_validator
from .signals import follow_created


def _clean_text(value: str | None) -> str:
    return (value or "").strip()


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


def user_delete(user: User) -> None:
    """Deletes an account with everything it owns, keeping every other row's counters exact.

    Cascades remove the user's follows, likes, shares, bookmarks, posts and comments (with the
    replies under them, whoever wrote those); the counters that counted them live on other rows:
    the followed and following users, others' posts (likes, shares, comments) and others' comments
    (replies). Each is taken down by what goes, set-based, in the delete's transaction. (There is no
    public mutation for this; the admin site deletes through it.)
    """
    from feed.models import Post
    from interactions.models import Comment, Like, Share

    post, comment = Post._meta.db_table, Comment._meta.db_table
    with transaction.atomic():
        uid = user.pk
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM users_user WHERE id = %s FOR UPDATE", [uid])
            if cursor.fetchone() is None:
                return
            cursor.execute(
                "UPDATE users_user u SET follower_count = u.follower_count - 1 FROM users_follow f "
                "WHERE f.follower_id = %s AND f.followee_id = u.id AND u.id <> %s", [uid, uid])
            cursor.execute(
                "UPDATE users_user u SET following_count = u.following_count - 1 FROM users_follow f "
                "WHERE f.followee_id = %s AND f.follower_id = u.id AND u.id <> %s", [uid, uid])
            for table, column in ((Like._meta.db_table, "like_count"), (Share._meta.db_table, "share_count")):
                cursor.execute(
                    f"UPDATE {post} p SET {column} = p.{column} - x.n "
                    f"FROM (SELECT post_id, count(*) AS n FROM {table} WHERE user_id = %s GROUP BY post_id) x "
                    f"WHERE p.id = x.post_id AND p.author_id <> %s", [uid, uid])
            # The user's comments and every reply beneath them (the cascade takes them all), on posts
            # that stay: their posts lose that many comments, surviving parents their gone replies.
            cursor.execute(
                f"CREATE TEMPORARY TABLE user_delete_gone ON COMMIT DROP AS "
                f"WITH RECURSIVE gone AS (SELECT c.id, c.post_id, c.parent_id FROM {comment} c "
                f"JOIN {post} p ON p.id = c.post_id WHERE c.author_id = %s AND p.author_id <> %s "
                f"UNION SELECT r.id, r.post_id, r.parent_id FROM {comment} r JOIN gone g ON r.parent_id = g.id) "
                f"SELECT DISTINCT id, post_id, parent_id FROM gone", [uid, uid])
            cursor.execute(
                f"UPDATE {post} p SET comment_count = p.comment_count - x.n FROM (SELECT post_id, count(*) AS n "
                f"FROM user_delete_gone GROUP BY post_id) x WHERE p.id = x.post_id")
            cursor.execute(
                f"UPDATE {comment} c SET reply_count = c.reply_count - x.n FROM (SELECT parent_id, count(*) AS n "
                f"FROM user_delete_gone g WHERE g.parent_id IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM user_delete_gone p WHERE p.id = g.parent_id) GROUP BY parent_id) x "
                f"WHERE c.id = x.parent_id")
            cursor.execute("DROP TABLE user_delete_gone")
        User.objects.filter(pk=uid).delete()
