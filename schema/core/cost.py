"""What an operation may cost, before it runs: its node count and its points (as GitHub's GraphQL API).

**Nodes.** Every list field may return up to its page size of objects for each object its parents
may return: a connection ``first`` (or ``last``) items, 20 (``DEFAULT_PAGE_SIZE``) without either; a
list with a ``first`` argument (``trendingPosts``, ``topPosts``) likewise; ``nodes(ids:)`` as many
as it is given; any other list of objects (``mentions``, ``timeline``) 20. The node count is the sum,
over the list fields, of the product of their page sizes and those of the lists above them::

    posts(first: 100) { edges { node { likes(first: 10) { edges { node { user { username } } } } } } }
    = 100 + 100 * 10 = 1,100 nodes

Single objects (``user``, ``author``, ``viewer``) and introspection add nothing. Counts use the
request's variables (``first: $n``), are clamped to what a field may return at most (100), and
count ``@skip``/``@include`` selections as selected.

A request over ``GRAPHQL_MAX_NODES`` is refused before any SQL with QUERY_TOO_COMPLEX. The check
runs twice: at validation (cached per text) with every variable taken as 0 — a lower bound, so a
document over the limit whatever its variables never reaches the specified rules — and per request
with its variables (:func:`operation_cost`).

**Points.** One per 100 nodes (rounded, at least 1); each root field of a mutation adds
``GRAPHQL_MUTATION_COST``. ``common.ratelimit`` charges them against the caller's budget.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass

from django.conf import settings
from graphql import (FieldNode, FragmentSpreadNode, GraphQLList, InlineFragmentNode, IntValueNode,
                     ListValueNode, NullValueNode, OperationType, ValidationRule, VariableNode, get_named_type,
                     get_nullable_type, is_composite_type, is_list_type)

from .connection import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from .errors import QueryTooComplex

NODES_PER_POINT = 100
UNKNOWN = object()  # a variable whose value is not known yet (validation): counted as 0


def max_nodes() -> int:
    return int(getattr(settings, "GRAPHQL_MAX_NODES", 20_000))


def mutation_cost() -> int:
    return int(getattr(settings, "GRAPHQL_MUTATION_COST", 5))


@dataclass(frozen=True)
class Cost:
    nodes: int
    points: int
    kind: OperationType = OperationType.QUERY


def _is_connection(graphql_type) -> bool:
    named = get_named_type(graphql_type)
    return named.name.endswith("Connection") and "edges" in getattr(named, "fields", {})


class _Counter:
    def __init__(self, schema, fragments: dict, variables, defaults: dict):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables  # None: unknown (validation)
        self.defaults = defaults

    def value(self, node):
        if isinstance(node, VariableNode):
            name = node.name.value
            if self.variables is None:
                return UNKNOWN
            if name in self.variables:
                return self.variables[name]
            default = self.defaults.get(name)
            return None if default is None else self.value(default)
        if isinstance(node, NullValueNode) or node is None:
            return None
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return [self.value(item) for item in node.values]
        return getattr(node, "value", None)

    def argument(self, field: FieldNode, name: str):
        for argument in field.arguments or ():
            if argument.name.value == name:
                return self.value(argument.value)
        return None

    def page_size(self, field: FieldNode, field_def) -> int:
        if "ids" in field_def.args:
            ids = self.argument(field, "ids")
            if ids is UNKNOWN or ids is None:
                return 0
            return min(len(ids) if isinstance(ids, list) else 1, MAX_PAGE_SIZE)
        first = self.argument(field, "first") if "first" in field_def.args else None
        last = self.argument(field, "last") if "last" in field_def.args else None
        size = first if first is not None else last
        if size is UNKNOWN:
            return 0
        if size is None:
            return DEFAULT_PAGE_SIZE
        if not isinstance(size, int) or isinstance(size, bool):
            return DEFAULT_PAGE_SIZE  # not an Int: refused when the arguments are coerced
        return max(0, min(size, MAX_PAGE_SIZE))

    def count(self, parent_type, selection_set, multiplier: int, fragments_on_path: frozenset) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__"):
                    continue  # introspection and __typename: no SQL
                field_def = getattr(parent_type, "fields", {}).get(name)
                if field_def is None:
                    continue  # FieldsOnCorrectTypeRule reports it
                inner = multiplier
                nullable = get_nullable_type(field_def.type)
                if _is_connection(nullable) and not isinstance(nullable, GraphQLList):
                    inner = multiplier * self.page_size(selection, field_def)
                    total += inner
                elif (is_list_type(nullable) and is_composite_type(get_named_type(nullable))
                      and not _is_connection(parent_type)):  # a connection's `edges` are its page
                    inner = multiplier * self.page_size(selection, field_def)
                    total += inner
                if selection.selection_set is not None:
                    total += self.count(get_named_type(field_def.type), selection.selection_set, inner,
                                        fragments_on_path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                fragment_type = self.schema.get_type(condition.name.value) if condition else parent_type
                total += self.count(fragment_type or parent_type, selection.selection_set, multiplier,
                                    fragments_on_path)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in fragments_on_path:
                    continue  # unknown or a cycle: the specified rules report it
                fragment_type = self.schema.get_type(fragment.type_condition.name.value) or parent_type
                total += self.count(fragment_type, fragment.selection_set, multiplier, fragments_on_path | {name})
        return total


def _fragments(document) -> dict:
    return {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}


def _root_type(schema, operation):
    return {OperationType.QUERY: schema.query_type, OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type}[operation.operation]


def count_nodes(schema, document, operation, variables=None) -> int:
    """The most nodes ``operation`` may return; ``variables=None``: each variable counted as 0."""
    root = _root_type(schema, operation)
    if root is None:
        return 0
    defaults = {d.variable.name.value: d.default_value for d in operation.variable_definitions or ()}
    counter = _Counter(schema, _fragments(document), variables, defaults)
    return counter.count(root, operation.selection_set, 1, frozenset())


def _root_fields(document, operation) -> int:
    fragments = _fragments(document)
    count, stack, seen = 0, [operation.selection_set], set()
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                count += not selection.name.value.startswith("__")
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                if selection.name.value in fragments:
                    stack.append(fragments[selection.name.value].selection_set)
    return count


def points(nodes: int, kind: OperationType = OperationType.QUERY, mutation_fields: int = 0) -> int:
    """One point per 100 nodes (rounded half up, at least 1), plus the mutation cost per mutation field."""
    read = max(1, (nodes + NODES_PER_POINT // 2) // NODES_PER_POINT)
    if kind == OperationType.MUTATION:
        return read + mutation_cost() * max(1, mutation_fields)
    return read


def too_complex(nodes: int, limit: int, node=None) -> QueryTooComplex:
    return QueryTooComplex(f"The query may return up to {nodes:,} nodes; the limit is {limit:,}. "
                           f"Ask for fewer items (`first`) in nested lists.", nodes=node,
                           nodeCount=nodes, nodeLimit=limit)


# Node counts per parsed document (the document cache keeps one object per query text) and per operation and
# variables: a repeated page is counted once. Small variables only (the key is their JSON).
_COUNTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_COUNTS_LOCK = threading.Lock()
_COUNTS_PER_DOCUMENT = 64
_COUNTED_VARIABLES_BYTES = 1024


def _counted_nodes(schema, document, operation, variables: dict) -> int:
    try:
        key = (id(schema), id(operation), json.dumps(variables, sort_keys=True, separators=(",", ":")))
    except (TypeError, ValueError):
        key = None
    if key is None or len(key[2]) > _COUNTED_VARIABLES_BYTES:
        return count_nodes(schema, document, operation, variables)
    with _COUNTS_LOCK:
        known = _COUNTS.get(document)
        if known is not None and key in known:
            return known[key]
    nodes = count_nodes(schema, document, operation, variables)
    with _COUNTS_LOCK:
        known = _COUNTS.setdefault(document, {})
        if len(known) >= _COUNTS_PER_DOCUMENT:
            known.clear()
        known[key] = nodes
    return nodes


def operation_cost(schema, document, operation, variables=None) -> Cost:
    """The cost of ``operation`` with the request's ``variables``; raises QUERY_TOO_COMPLEX over the node limit."""
    nodes = _counted_nodes(schema, document, operation, variables or {})
    limit = max_nodes()
    if nodes > limit:
        raise too_complex(nodes, limit)
    mutation_fields = _root_fields(document, operation) if operation.operation == OperationType.MUTATION else 0
    return Cost(nodes, points(nodes, operation.operation, mutation_fields), operation.operation)


class NodeLimit(ValidationRule):
    """At validation: refuses an operation over the node limit even with every variable taken as 0."""

    def enter_operation_definition(self, node, *args):
        nodes = count_nodes(self.context.schema, self.context.document, node, None)
        limit = max_nodes()
        if nodes > limit:
            self.report_error(too_complex(nodes, limit, node))
