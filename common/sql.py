"""Generic SQL helpers shared by the apps' selectors (no domain knowledge here)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from operator import attrgetter

from typing import Callable, Hashable, Iterable, Sequence

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from . import prepared


def first_per_parent(queryset_of: Callable[[], QuerySet], parent_field: str, parent_ids: Iterable[int],
                     order: Sequence[str], limit: int, *, descending: bool = False, where: str = "",
                     reverse: bool = False, shape: Hashable | None = None) -> dict[int, list]:
    """The first ``limit`` rows of ``queryset``'s model per parent id, in ``order``, in one query.

    With ``reverse``, the last ``limit`` rows, last first: the same index read the other way.

    A LATERAL seek per parent on the (parent, order...) index reads ``limit`` index entries per
    parent, whatever the parent's size (a window function over the parents' rows would read every
    row of a post with 50,000 comments). ``queryset_of()`` makes the query set to read from (its joins:
    select_related); ``where`` adds an SQL condition on the table aliased ``x`` matching a partial index
    (e.g. top-level comments).

    With ``shape`` (a name for what ``queryset_of()`` makes: the same query set whenever the name is), the SQL
    is compiled once per (shape, parent, order, where) — the ids and the limit are its parameters — and rows
    become instances the fast way (common.prepared).
    """
    parent_ids = list(dict.fromkeys(parent_ids))
    descending = descending != reverse
    if not parent_ids or limit <= 0:
        return {pk: [] for pk in parent_ids}
    if shape is None:
        queryset = queryset_of()
        sql, attname = _per_parent_plan(queryset.model, parent_field, order, descending, where)
        rows = list(queryset.filter(pk__in=RawSQL(sql, (parent_ids, limit))))
    else:  # the query set is built only when the shape is compiled (or falls back to the ORM)
        key = ("first_per_parent", shape, parent_field, tuple(order), descending, where)
        plan = _per_parent_plans.get(key)
        if plan is None:
            plan = _per_parent_plan(queryset_of().model, parent_field, order, descending, where)
            if len(_per_parent_plans) < prepared.MAX_SHAPES:
                _per_parent_plans[key] = plan
        sql, attname = plan
        rows = prepared.fetch(key, lambda ids, count: queryset_of().filter(pk__in=RawSQL(sql, (ids, count))),
                              parent_ids, limit)
    grouped: dict[int, list] = {pk: [] for pk in parent_ids}
    for row in rows:
        grouped[getattr(row, attname)].append(row)

    sort_key = attrgetter(*order)
    for values in grouped.values():
        values.sort(key=sort_key, reverse=descending)
    return grouped


# (shape, parent, order, direction, where) -> (the LATERAL subquery's SQL, the parent's attribute name)
_per_parent_plans: dict[Hashable, tuple[str, str]] = {}


def _per_parent_plan(model, parent_field: str, order: Sequence[str], descending: bool, where: str) -> tuple[str, str]:
    table = connection.ops.quote_name(model._meta.db_table)
    parent_column = model._meta.get_field(parent_field).column
    direction = " DESC" if descending else ""
    columns = [model._meta.get_field(name).column for name in order]
    order_sql = ", ".join(f"x.{connection.ops.quote_name(c)}{direction}" for c in columns)
    sql = (
        f"SELECT t.id FROM unnest(%s::bigint[]) AS parent(id) CROSS JOIN LATERAL ("
        f"SELECT x.id FROM {table} x WHERE x.{connection.ops.quote_name(parent_column)} = parent.id"
        f"{' AND ' + where if where else ''} ORDER BY {order_sql} LIMIT %s) t"
    )
    return sql, model._meta.get_field(parent_field).attname


@contextmanager
def planned_each_time(connection=connection):
    """Statements run inside are never prepared: PostgreSQL plans each for its parameters (a statement whose best
    plan depends on them, e.g. the home feed's). Use with the connection open (inside ``with connection.cursor()``, or after ``ensure_connection()``)."""
    raw = connection.connection
    previous = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = previous


def delete_in_batches(table: str, where: str, params: list, *, batch: int) -> int:
    """Deletes the rows of ``table`` matching ``where`` (SQL with %s placeholders for ``params``), ``batch``
    rows per short transaction (rows locked by others are skipped until the next batch); returns how many.
    For housekeeping off the request path: no transaction holds many rows, and a rerun is idempotent."""
    from django.db import connection, transaction

    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {where} LIMIT %s FOR UPDATE SKIP LOCKED)",
                [*params, batch])
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch:
            return total


def delete_some(table: str, where: str, params: list, *, limit: int) -> int:
    """Deletes at most ``limit`` rows of ``table`` matching ``where``, in the caller's transaction (one batch
    of a purge); returns how many. Rows locked by others are waited for, not skipped: 0 means none left."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {where} LIMIT %s)",
            [*params, limit])
        return cursor.rowcount


def run_batches(step, seconds: float) -> tuple[bool, int]:
    """Calls ``step()`` (one batch: rows deleted, or None when nothing is left) until it is done or ``seconds``
    have passed. Returns (done, rows deleted); not done: the caller queues the rest (the purge tasks do)."""
    deadline = time.monotonic() + seconds
    total = 0
    while True:
        rows = step()
        if rows is None:
            return True, total
        total += rows
        if time.monotonic() >= deadline:
            return False, total
