"""Hashtags and mentions in post bodies.

Rules (close to Mastodon's):
- A hashtag is ``#`` followed by letters, digits, marks or underscores with at
  least one letter (``#2024`` is not a tag, ``#web3`` is). It must start the
  text or follow a character that is not a word character, ``#``, ``&`` or
  ``/`` (so ``page#anchor``, ``&#38;`` and URLs are not tags). Tags are
  lower-cased and returned once each, in order of first use; tags longer than
  ``HASHTAG_MAX`` are ignored.
- A mention is ``@`` followed by a username (3-30 of ``[A-Za-z0-9_]``), at the
  start or after a character that is not a word character, ``@`` or ``.``
  (so e-mail addresses are not mentions), and not followed by another
  word character (``@` + 31 characters is not a mention of the first 30).
  Usernames come back once each, lower-cased, in order of first use; which of
  them exist is the caller's question.
"""

from __future__ import annotations

import re

from .models import HASHTAG_MAX

_HASHTAG = re.compile(r"(?<![\w#&/])#(\w*[^\W\d_]\w*)")
_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_]{3,30})(?!\w)")


def _unique(values) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def parse_hashtags(body: str) -> list[str]:
    """Hashtags in ``body``: lower-case, without '#', in order of first use, each once."""
    return _unique(
        tag.lower() for tag in _HASHTAG.findall(body or "") if len(tag) <= HASHTAG_MAX
    )


def parse_mentions(body: str) -> list[str]:
    """Usernames mentioned as @username in ``body``: lower-case, in order of first use, each once."""
    return _unique(name.lower() for name in _MENTION.findall(body or ""))
