"""At most one credential mutation (tokenAuth, register, refreshToken) per request.

Each of them runs the password hasher or mints tokens, so aliases (``a1: tokenAuth(...) a2: ...``)
would make one request try a hundred passwords before any per-attempt limit could act. The rule
counts them across the whole document, fragments expanded where they are spread; the HTTP view
counts them across a batch too. Over the limit: QUERY_TOO_COMPLEX, before anything runs.
"""

from __future__ import annotations

from graphql import (DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode,
                     OperationDefinitionNode, ValidationRule)

from .errors import QueryTooComplex

CREDENTIAL_FIELDS = frozenset({"tokenAuth", "register", "refreshToken"})
MAX_CREDENTIAL_FIELDS = 1
MAX_STEPS = 10_000  # selection sets looked at, at most


def too_many_message(count: int) -> str:
    return (f"A request may hold at most {MAX_CREDENTIAL_FIELDS} tokenAuth, register or refreshToken "
            f"(this one has {count}).")


def credential_fields(document: DocumentNode) -> int:
    """How many credential fields the document's operations select at their root, fragments expanded."""
    fragments = _fragments(document)
    return sum(_operation_fields(fragments, d) for d in document.definitions
               if isinstance(d, OperationDefinitionNode))


def _fragments(document: DocumentNode) -> dict:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _operation_fields(fragments: dict, operation: OperationDefinitionNode) -> int:
    count = steps = 0
    stack = [(operation.selection_set, frozenset())]
    while stack:
        selection_set, on_path = stack.pop()
        steps += 1
        if steps > MAX_STEPS:  # fragments spread in a fan: the field limit (limits.py) refuses it anyway
            return count
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += selection.name.value in CREDENTIAL_FIELDS
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, on_path))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in on_path:  # a cycle: NoFragmentCyclesRule says so
                    stack.append((fragment.selection_set, on_path | {name}))
    return count


class OneCredentialFieldPerDocument(ValidationRule):
    """Refuses a document with more than one tokenAuth / register / refreshToken (QUERY_TOO_COMPLEX).

    One of the limit rules (schema/core/execution.py LIMIT_RULES): it acts in
    enter_operation_definition only, counting over all the document's operations.
    """

    def __init__(self, context):
        super().__init__(context)
        self.count = 0
        self.reported = False
        self.fragments = None

    def enter_operation_definition(self, node, *args):
        if self.fragments is None:
            self.fragments = _fragments(self.context.document)
        self.count += _operation_fields(self.fragments, node)
        if self.count > MAX_CREDENTIAL_FIELDS and not self.reported:
            self.reported = True
            self.report_error(QueryTooComplex(too_many_message(self.count)))
