"""Cursors and keyset orderings: what a page seeks on.

A cursor is the opaque encoding (url-safe base64 of JSON) of the sort values and the id of a row;
:class:`Keyset` turns it into a row comparison ``(sort_key, id) < (cursor)`` on an index of the same
order. Cursors this server did not issue, or of another ordering, are BAD_USER_INPUT (never a 500).
Pages are made in schema/core/connection.py.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass
from typing import Any, Sequence

from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.db.models import F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

from .errors import BadUserInput


# --- cursors ------------------------------------------------------------------
def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.datetime.fromisoformat(value["t"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# The cursors this server issues are well under this (a timestamp and an id or two); longer ones are not decoded.
MAX_CURSOR_LENGTH = 1000


def decode_cursor(cursor: str, length: int, argument: str = "after") -> list[Any]:
    """The values of a cursor; BAD_USER_INPUT for anything this server did not issue."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != length:
            raise ValueError
        decoded = [_decode_value(v) for v in values]
        if any(isinstance(v, (list, dict)) or v is None for v in decoded):
            raise ValueError
        return decoded
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested thousands deep (json.loads recurses); OverflowError is a ValueError here.
        raise BadUserInput("The cursor is not valid.", argument=argument) from None


_BIGINT = 2**63


def _model_field(model, path: str):
    field = None
    for part in path.split("__"):
        if model is None:
            return None
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None  # an annotation: not checked here
        model = field.related_model
    return field


def _fits(model, path: str, value: Any) -> bool:
    """Whether a cursor value has the type of the model field it seeks on (never a 500 from SQL)."""
    field = _model_field(model, path)
    if isinstance(field, models.DateTimeField):
        return isinstance(value, datetime.datetime) and value.tzinfo is not None
    if isinstance(field, (models.IntegerField, models.AutoField, models.ForeignKey)):
        return isinstance(value, int) and not isinstance(value, bool) and -_BIGINT <= value < _BIGINT
    if isinstance(field, (models.CharField, models.TextField)):
        return isinstance(value, str)
    if isinstance(field, models.FloatField):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


# --- orderings ----------------------------------------------------------------
@dataclass(frozen=True)
class Keyset:
    """An ordering of a queryset that a cursor can seek in: sort fields, then the id.

    ``fields`` are model field paths ending with a unique one (normally "id"); all in one
    direction, so one row comparison seeks and one index (scanned either way) serves it: a
    backward page reads the same index the other way.
    """

    fields: tuple[str, ...]
    descending: bool = True

    def order_by(self) -> list:
        return [F(name).desc() if self.descending else F(name).asc() for name in self.fields]

    def values_of(self, row: Any) -> list[Any]:
        values = []
        for path in self.fields:
            value = row
            for part in path.split("__"):
                value = getattr(value, part)
            values.append(value)
        return values

    def cursor_of(self, row: Any) -> str:
        return encode_cursor(self.values_of(row))

    def cursor_values(self, model, cursor: str, *, before: bool = False) -> list[Any]:
        """The sort values of ``cursor``, checked against ``model``'s fields (BAD_USER_INPUT otherwise)."""
        argument = "before" if before else "after"
        values = decode_cursor(cursor, len(self.fields), argument)
        if model is not None and not all(_fits(model, name, value) for name, value in zip(self.fields, values)):
            # A cursor of another ordering or connection (a LIKE_COUNT cursor in CREATED_AT order, say).
            raise BadUserInput("The cursor is not valid.", argument=argument)
        return values

    def seek_sql(self, model, *, before: bool = False) -> str | None:
        """The row comparison of :meth:`seek` as SQL with one ``%s`` per field, for fields that are columns of
        ``model``'s table (None otherwise): what a compiled page (common.prepared) seeks with."""
        columns = []
        table = connection.ops.quote_name(model._meta.db_table)
        for name in self.fields:
            field = _model_field(model, name)
            if "__" in name or field is None or not field.concrete or field.model is not model:
                return None
            columns.append(f"{table}.{connection.ops.quote_name(field.column)}")
        operator = "<" if self.descending != before else ">"
        return f"({', '.join(columns)}) {operator} ({', '.join(['%s'] * len(columns))})"

    def seek(self, queryset, cursor: str, *, before: bool = False):
        """The rows after ``cursor`` in this order (or before it, with ``before``), the cursor's own row excluded."""
        argument = "before" if before else "after"
        values = self.cursor_values(getattr(queryset, "model", None), cursor, before=before)
        lhs = Tuple(*[F(name) for name in self.fields])
        lookup = TupleLessThan if self.descending != before else TupleGreaterThan
        try:
            return queryset.filter(lookup(lhs, tuple(values)))
        except (ValueError, TypeError):
            raise BadUserInput("The cursor is not valid.", argument=argument) from None

    def reversed(self) -> "Keyset":
        return Keyset(self.fields, not self.descending)


NEWEST_FIRST = Keyset(("created_at", "id"), descending=True)
OLDEST_FIRST = Keyset(("created_at", "id"), descending=False)
