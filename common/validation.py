"""Input checks shared by the apps' services (errors with a code, for the GraphQL payloads)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def clean_text(value: str | None, *, field: str, max_length: int, label: str, required: str | None = None) -> str:
    """``value`` stripped of surrounding whitespace, or a ValidationError on ``field``:

    code ``required`` (message ``required``) when it is blank and ``required`` is given, code ``too_long``
    ("<label> is at most <max_length> characters.") when it is longer than ``max_length``.
    """
    value = (value or "").strip()
    if not value and required is not None:
        raise ValidationError({field: ValidationError(required, code="required")})
    if len(value) > max_length:
        raise ValidationError({field: ValidationError(f"{label} is at most {max_length} characters.",
                                                      code="too_long")})
    return value
