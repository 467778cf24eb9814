"""A simple safety net against abusive documents: depth, field and alias limits (QUERY_TOO_COMPLEX).

Checked once per distinct query text, at validation (``schema/core/execution.py`` caches it).
Fragments are expanded where they are spread, so a fragment spread many times counts many times.
Introspection (``__schema`` / ``__type`` and what is under them) is not counted: GraphiQL's
introspection query is deep by nature and costs no SQL. The node count (schema/core/cost.py) is the
cost-based limit.

These rules run first, alone (``schema/core/execution.py``): when one fails, graphql-core's specified
rules do not run at all, so a hostile document costs milliseconds. Of the specified rules,
OverlappingFieldsCanBeMergedRule is quadratic in fields sharing a response name (707 identical fields
spend graphql-core's whole budget of 500,000 comparisons, ~1.5 s, before "Validation aborted."):
:class:`BoundedOverlappingFields` runs it with a budget of MAX_MERGE_COMPARISONS instead (ordinary
documents use none of it; 100 identical fields use 9,900), and an exhausted budget is QUERY_TOO_COMPLEX.
"""

from __future__ import annotations

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, ValidationRule
from graphql.validation import OverlappingFieldsCanBeMergedRule

from .errors import QueryTooComplex

MAX_DEPTH = 15  # nested fields: `feed { edges { node { author { id } } } }` is 5
MAX_FIELDS = 1000  # field selections in one operation, fragments expanded
MAX_ALIASES = 100  # fields renamed with an alias (`a1: posts ...`) in one operation
MAX_MERGE_COMPARISONS = 20_000  # the budget of field-merging checks (graphql-core's is 500,000)
MERGE_ABORTED = "The query repeats the same fields too often to be checked; select each field once."

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


class _TooComplex(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class QueryComplexityLimits(ValidationRule):
    """Refuses operations nested deeper than MAX_DEPTH, or with more than MAX_FIELDS fields or MAX_ALIASES aliases."""

    def enter_operation_definition(self, node, *args):
        self.fields = 0
        self.aliases = 0
        try:
            self._walk(node.selection_set, 0, frozenset())
        except _TooComplex as error:
            self.report_error(QueryTooComplex(error.message, nodes=node))

    def _walk(self, selection_set, depth: int, fragments_on_path: frozenset) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in INTROSPECTION_ROOTS:
                    continue
                self.fields += 1
                if self.fields > MAX_FIELDS:
                    raise _TooComplex(f"The query selects more than {MAX_FIELDS} fields.")
                if selection.alias is not None and selection.alias.value != selection.name.value:
                    self.aliases += 1
                    if self.aliases > MAX_ALIASES:
                        raise _TooComplex(f"The query uses more than {MAX_ALIASES} aliases.")
                if selection.selection_set is not None:
                    if depth + 1 >= MAX_DEPTH:
                        raise _TooComplex(f"The query is nested deeper than {MAX_DEPTH} levels.")
                    self._walk(selection.selection_set, depth + 1, fragments_on_path)
            elif isinstance(selection, InlineFragmentNode):
                self._walk(selection.selection_set, depth, fragments_on_path)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments_on_path:
                    continue  # a cycle: NoFragmentCyclesRule reports it
                fragment = self.context.get_fragment(name)
                if fragment is not None:
                    self._walk(fragment.selection_set, depth, fragments_on_path | {name})


class BoundedOverlappingFields(OverlappingFieldsCanBeMergedRule):
    """graphql-core's field-merging rule with a smaller work budget (it aborts validation when spent)."""

    def __init__(self, context):
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = MAX_MERGE_COMPARISONS
