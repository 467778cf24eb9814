"""Lean joins: ``select_related()`` leaves out the columns no response needs of the models it joins in.

A model lists them in ``JOIN_DEFERRED`` (a tuple of field names): feed.models.Post its search vector (as big
as the body), users.models.User what a joined author never shows (the password hash, the email, staff flags,
the last login). A query set of :class:`LeanJoinQuerySet` (the managers of the models that join posts or
users) defers them along every path it joins, so a page of posts with their authors reads the author's
``username`` and counters, not its password hash. A deferred column still loads when read (one query per
instance): code that needs one on a joined row asks for it by name (``.only()``/``.defer(None)``), or reads
it elsewhere (schema/users/types.py's ``email`` takes the viewer's own, loaded whole).
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models


def deferred_paths(model, fields) -> list[str]:
    """``path__column`` for each JOIN_DEFERRED column of each model the select_related ``fields`` reach."""
    deferred: list[str] = []
    for path in fields:
        if not isinstance(path, str):  # select_related(None) clears the list
            continue
        current, parts = model, []
        for part in path.split("__"):
            try:
                related = current._meta.get_field(part).related_model
            except FieldDoesNotExist:  # Django reports it when the query is built
                break
            if related is None:
                break
            parts.append(part)
            current = related
            prefix = "__".join(parts)
            for name in getattr(current, "JOIN_DEFERRED", ()):
                entry = f"{prefix}__{name}"
                if entry not in deferred:
                    deferred.append(entry)
    return deferred


class LeanJoinQuerySet(models.QuerySet):
    """select_related() defers the JOIN_DEFERRED columns of every model it joins in."""

    def select_related(self, *fields):
        queryset = super().select_related(*fields)
        deferred = deferred_paths(self.model, fields)
        return queryset.defer(*deferred) if deferred else queryset
