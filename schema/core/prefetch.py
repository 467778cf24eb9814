"""Nested data loaded with its parent page, so the page's fields complete at once.

A page of posts asks, per post, for its first comments, the viewer's flags, its pending views...: each a
DataLoader ``load`` whose future the executor waits on until the level's batch runs. When the resolver of a
list already holds the page's objects (Query.posts, Query.feed), it calls :func:`children`, and each domain's
*prefetcher* registered for the objects' GraphQL type runs, for the fields the query selects on them, the
very batch its loader would run (``Loader.prefetch``): same statements, same rows, but the futures the
resolvers get are finished, and the executor completes every field in one pass. Prefetchers register from
their own domain's package (a lower one's type gets a higher one's prefetcher, as the resolvers do).

    @prefetch.register("Post")
    def _post_children(info, posts, fields):    # fields: {name: [FieldNode, ...]} selected on them
        ...

A field under a directive (@skip/@include) is left to its loader; a prefetcher that fails leaves it all to
the loaders (which then report the error where the field is).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Callable

from graphql.execution.values import get_argument_values

from .selection import fields_of, selected_nodes

logger = logging.getLogger(__name__)

_prefetchers: dict[str, list[Callable]] = defaultdict(list)


def register(type_name: str):
    def decorate(fn: Callable) -> Callable:
        _prefetchers[type_name].append(fn)
        return fn

    return decorate


def children(info, type_name: str, parents: list, *path: str) -> None:
    """Runs the prefetchers of ``type_name`` for ``parents``, the objects at ``path`` below the current field."""
    functions = _prefetchers.get(type_name)
    if not functions or not parents:
        return
    fields: dict[str, list] = defaultdict(list)
    for node in selected_nodes(info, *path):
        if not node.directives:
            fields[node.name.value].append(node)
    if not fields:
        return
    for fn in functions:
        try:
            fn(info, parents, fields)
        except Exception:  # noqa: BLE001 - the loaders run as without a prefetch, and report what fails
            logger.debug("prefetch for %s failed; the loaders answer", type_name, exc_info=True)


def arguments(info, type_name: str, node) -> dict:
    """The coerced arguments of a selected field ``node`` of ``type_name`` (raises for bad ones)."""
    field_def = info.schema.get_type(type_name).fields[node.name.value]
    return get_argument_values(field_def, node, info.variable_values)


def selects_only(info, node, allowed: dict, *path: str) -> bool:
    """Whether the selection of ``node`` at ``path`` holds only ``allowed`` fields ({name: the fields allowed
    under it, or None for a leaf}), with no directives."""
    nodes = [node]
    for name in path:
        nodes = [child for n in nodes for child in fields_of(n.selection_set, info.fragments) if child.name.value == name]
    return _only([child for n in nodes for child in fields_of(n.selection_set, info.fragments)], allowed, info)


def _only(children, allowed: dict, info) -> bool:
    for child in children:
        name = child.name.value
        if name not in allowed or child.directives:
            return False
        below = allowed[name]
        if below is None:
            if child.selection_set is not None:
                return False
        elif not _only(fields_of(child.selection_set, info.fragments), below, info):
            return False
    return True
