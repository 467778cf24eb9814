"""Input checks shared by the apps' services and selectors (errors with a code, for the GraphQL payloads)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError

# White space and the characters that show nothing (zero-width space, non-joiner and joiner, word joiner,
# the byte-order mark, soft hyphen, Mongolian vowel separator, invisible operators): text made only of them
# is blank, and they are trimmed from both ends like white space.
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
_EDGES = re.compile(f"^[\\s{_INVISIBLE}]+|[\\s{_INVISIBLE}]+$")
_TERM = re.compile(r"\w+")


def strip_blank(value: str | None) -> str:
    """``value`` without white space or invisible characters at either end ("" for None)."""
    return _EDGES.sub("", value or "")


def clean_text(value: str | None, *, field: str, max_length: int, label: str, required: str | None = None) -> str:
    """``value`` stripped of surrounding white space and invisible characters, or a ValidationError on ``field``:

    code ``required`` (message ``required``) when it is blank (nothing visible) and ``required`` is given, code
    ``too_long`` ("<label> is at most <max_length> characters.") when it is longer than ``max_length``.
    """
    value = strip_blank(value)
    if not value and required is not None:
        raise ValidationError({field: ValidationError(required, code="required")})
    if len(value) > max_length:
        raise ValidationError({field: ValidationError(f"{label} is at most {max_length} characters.",
                                                      code="too_long")})
    return value


def clean_search(value: str | None, *, field: str = "search") -> str:
    """A search text, stripped, within ``SEARCH_MAX_LENGTH`` characters and ``SEARCH_MAX_TERMS`` words; else a
    ValidationError (BAD_USER_INPUT over GraphQL) before it reaches PostgreSQL, whose full-text parser fails on
    huge queries ("stack depth limit exceeded", "value is too big in tsquery") only after seconds of work."""
    value = strip_blank(value)
    max_length, max_terms = settings.SEARCH_MAX_LENGTH, settings.SEARCH_MAX_TERMS
    if len(value) > max_length:
        raise ValidationError({field: ValidationError(
            f"A search is at most {max_length} characters; this one has {len(value)}.", code="too_long")})
    terms = sum(1 for _ in _TERM.finditer(value))
    if terms > max_terms:
        raise ValidationError({field: ValidationError(
            f"A search has at most {max_terms} words (operators such as `or` included); this one has {terms}.",
            code="invalid")})
    return value
