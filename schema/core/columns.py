"""Columns read only when selected: a page's SQL leaves out the optional columns its selection does not need.

A GraphQL object type may name *optional columns* (:func:`optional_columns`): columns of its model that only
some of its fields read — a post's body, a user's bio — each with those fields. :func:`page_left_out` takes a
connection's field nodes and returns the optional columns that none of the fields selected on its nodes
needs (and, for the relations a page joins in, the related model's as ``relation__column``); the selectors
defer them (``QuerySet.defer``), so PostgreSQL does not send them and psycopg does not decode them (on the
newest-posts page: a third of the client's row decoding, and the timestamps it would parse).

Everything else is always read: keys, foreign keys, counters and flags are small, and permissions, cursors
and visibility rules read them. A deferred column that some code reads anyway still loads (one query per
instance), so a field missing here costs statements, never a wrong answer: tests/perf pins the statements of
the standard pages and tests/perf/test_lean_sql.py what they read.
"""

from __future__ import annotations

from typing import Iterable

from .selection import fields_of

_OPTIONAL: dict[str, dict[str, frozenset[str]]] = {}


def optional_columns(type_name: str, columns: dict[str, Iterable[str]]) -> None:
    """Declares ``type_name``'s optional columns: model field name -> the GraphQL fields that read it."""
    _OPTIONAL[type_name] = {column: frozenset(fields) for column, fields in columns.items()}


def left_out(nodes, type_name: str) -> tuple[str, ...]:
    """The optional columns of ``type_name`` that none of the field nodes ``nodes`` (selected on one object) needs."""
    optional = _OPTIONAL.get(type_name)
    if not optional:
        return ()
    selected = {node.name.value for node in nodes}
    return tuple(sorted(column for column, fields in optional.items() if not selected & fields))


def page_left_out(nodes, fragments, type_name: str, joined: dict[str, str] | None = None) -> tuple[str, ...]:
    """What a connection's rows need not read: ``nodes`` are the connection field's nodes, ``type_name`` its
    nodes' type; ``joined`` maps each relation the page joins in (``select_related``) to its GraphQL type
    (the field and the relation share the name)."""
    node_fields = [child for node in nodes for edges in fields_of(node.selection_set, fragments)
                   if edges.name.value == "edges" for edge in fields_of(edges.selection_set, fragments)
                   if edge.name.value == "node" for child in fields_of(edge.selection_set, fragments)]
    out = list(left_out(node_fields, type_name))
    for relation, related_type in (joined or {}).items():
        related = [child for node in node_fields if node.name.value == relation
                   for child in fields_of(node.selection_set, fragments)]
        out += [f"{relation}__{column}" for column in left_out(related, related_type)]
    return tuple(out)
