"""What a query selects under the field being resolved, so resolvers load only what is asked.

    fields = selected_fields(info, "edges", "node")   # {"id", "author", "comments", ...}
    if "author" in fields: queryset = queryset.select_related("author")

Fragments (named and inline) are merged in; aliases do not matter (field names are returned,
as written in the query, i.e. camelCase).
"""

from __future__ import annotations

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode


def _fields(selection_set, fragments) -> list[FieldNode]:
    found: list[FieldNode] = []
    if selection_set is None:
        return found
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                found += _fields(fragment.selection_set, fragments)
    return found


def fields_of(selection_set, fragments) -> list[FieldNode]:
    """The field nodes of a selection set, fragments merged in (None: no fields)."""
    return _fields(selection_set, fragments)


def selected_nodes(info, *path: str) -> list[FieldNode]:
    """The field nodes selected at ``path`` below the current field (all occurrences merged)."""
    nodes = list(info.field_nodes)
    for name in path:
        nodes = [child for node in nodes for child in _fields(node.selection_set, info.fragments)
                 if child.name.value == name]
    return [child for node in nodes for child in _fields(node.selection_set, info.fragments)]


def selected_fields(info, *path: str) -> set[str]:
    """Names of the fields selected at ``path`` below the current field."""
    return {node.name.value for node in selected_nodes(info, *path)}
