"""GraphQL enums built from what the apps define (model choices, the orders a selector knows), so a
value is written once: in the app. The GraphQL layer adds only the descriptions, and must give one
for every value (a value added in the app without one fails at import, so the docs cannot lag).

    NotificationKind = enum_of("NotificationKind", Notification.Kind, "What happened.", {
        Notification.Kind.LIKE: "The actor liked your post.", ...})
"""

from __future__ import annotations

import enum
from typing import Any, Iterable, Mapping

import graphene


def _names(values: Iterable[Any]) -> list[str]:
    return [str(getattr(value, "value", value)) for value in values]


def enum_of(name: str, values: Iterable[Any], description: str, value_descriptions: Mapping[Any, str]):
    """A graphene Enum ``name`` whose values are ``values`` (a TextChoices class, or strings), in order.

    ``value_descriptions`` maps each value (member or string) to its description; missing or unknown
    keys raise ``KeyError``.
    """
    names = _names(values)
    texts = {str(getattr(key, "value", key)): text for key, text in value_descriptions.items()}
    missing, unknown = set(names) - set(texts), set(texts) - set(names)
    if missing or unknown:
        raise KeyError(f"{name}: descriptions missing for {sorted(missing)}, unknown {sorted(unknown)}")
    python_enum = enum.Enum(name, [(value, value) for value in names])
    for member in python_enum:
        member.description = texts[member.value]
    return graphene.Enum.from_enum(python_enum, description=description)


def enum_value(value, default: str | None = None) -> str | None:
    """The string value of an enum argument (graphene gives members or values depending on how they arrived)."""
    if value is None:
        return default
    return getattr(value, "value", value)
