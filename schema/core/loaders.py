"""Per-request DataLoaders.

Resolvers that would otherwise query once per object (a viewer's flag on each
post of a page, an author not joined in, a nested list such as each post's first
comments) ask a loader instead; nothing uses prefetch_related: nested lists are
:class:`FirstRows` loaders over one LATERAL query for all the parents
(common.sql.first_per_parent); every ``load`` made while one level of the result is resolved
is answered by one batched query. Loaders live on the request (or websocket
operation) context, so their cache never outlives it and never crosses viewers.

    class LikedByViewer(Loader):
        def batch(self, post_ids):
            liked = set(Like.objects.filter(user=self.viewer, post_id__in=post_ids)
                        .values_list("post_id", flat=True))
            return [pid in liked for pid in post_ids]

    def resolve_viewer_has_liked(post, info):
        return LikedByViewer.of(info).load(post.id)

Execution must use ``DeferredExecutionContext`` (the HTTP view and the
websocket consumer do: see :func:`schema.core.execution.execute`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Sequence

from graphql_sync_dataloaders import SyncDataLoader, SyncFuture

from . import columns
from .deadline import check_deadline


class Loader:
    """Subclass and define ``batch(keys) -> values`` (same length and order as keys)."""

    def __init__(self, context) -> None:
        self.context = context
        self._loader = SyncDataLoader(self._batch)

    @classmethod
    def of(cls, info_or_context) -> "Loader":
        """The instance of this loader for the current request."""
        context = getattr(info_or_context, "context", info_or_context)
        registry = getattr(context, "_loaders", None)
        if registry is None:
            registry = {}
            setattr(context, "_loaders", registry)
        loader = registry.get(cls)
        if loader is None:
            loader = registry[cls] = cls(context)
        return loader

    @classmethod
    def release_all(cls, context) -> None:
        """Drops the request's loaders and what they hold, at the request's end. A loader and its
        SyncDataLoader hold each other (the batch function is a bound method), the loader holds the request,
        and the request holds the loaders: a cycle only the cyclic garbage collector would free, with every
        model instance the loaders cached (about a thousand objects per page, and a ~25 ms collection every
        50 pages). Broken here, reference counting frees all of it when the response is sent."""
        for loader in getattr(context, "__dict__", {}).pop("_loaders", {}).values():
            loader.__dict__.clear()

    @property
    def viewer(self):
        """The authenticated user of the request, or None."""
        user = getattr(self.context, "user", None)
        return user if user is not None and user.is_authenticated else None

    def _batch(self, keys: list) -> list:
        # Whatever a batch raises fails the fields that wait on it (each a field error with a code, see
        # schema.core.execution.format_error), never the whole response: the library would let it out of
        # the execution (an HTTP 500).
        check_deadline()  # a BaseException: it stops the operation (see schema.core.execution.execute)
        try:
            values = list(self.batch(keys))
        except Exception as error:  # noqa: BLE001 - passed on to each waiting field
            return [error] * len(keys)
        if len(values) != len(keys):
            error = RuntimeError(f"{type(self).__name__}.batch returned {len(values)} values for {len(keys)} keys")
            return [error] * len(keys)
        return values

    def batch(self, keys: Sequence[Any]) -> Sequence[Any]:
        raise NotImplementedError

    def load(self, key) -> SyncFuture:
        return self._loader.load(key)

    def prefetch(self, keys) -> None:
        """Runs the batch for those of ``keys`` not asked for yet, now, and keeps the answers: loads of them get
        finished futures (schema/core/prefetch.py). The same batch as at dispatch, errors included."""
        cache = self._loader._cache
        missing = [key for key in dict.fromkeys(keys) if key not in cache]
        if not missing:
            return
        for key, value in zip(missing, self._batch(missing)):
            future = SyncFuture()
            if isinstance(value, Exception):
                future.set_exception(value)
            else:
                future.set_result(value)
            cache[key] = future

    def prime(self, key, value) -> None:
        """Tells the loader a value already known (e.g. fetched with a page), so it isn't queried."""
        if key not in self._loader._cache:
            future = SyncFuture()
            future.set_result(value)
            self._loader._cache[key] = future


def then(future: SyncFuture, fn: Callable[[Any], Any]) -> SyncFuture:
    """A future for ``fn(result)`` of ``future`` (SyncFuture has no ``then``)."""
    if future.done():
        result = SyncFuture()
        try:
            result.set_result(fn(future.result()))
        except Exception as exc:  # noqa: BLE001 - passed on to the resolver's caller
            result.set_exception(exc)
        return result
    result = SyncFuture()

    def on_done():
        try:
            result.set_result(fn(future.result()))
        except Exception as exc:  # noqa: BLE001
            result.set_exception(exc)

    future.add_done_callback(on_done)
    result.deferred_callback = getattr(future, "deferred_callback", None)
    return result


class FirstRows(Loader):
    """(parent id, limit, reverse, left out) -> the first ``limit`` rows of the parent's list (with ``reverse``,
    its last ``limit`` rows, last first); one query per distinct (limit, reverse, left out).

    ``fetch(parent_ids, limit, reverse=False) -> {parent_id: rows}`` is an app selector reading the
    first (or last) rows of every parent at once (a LATERAL join); see
    :func:`schema.core.connection.first_page`. With ``node_type`` set (the GraphQL type of the rows, for a
    selector that takes ``leave_out=``: the optional columns the selection does not need, schema/core/columns.py;
    ``joined``: the relations it joins in, to their types), the key's fourth part is passed on when not empty.
    """

    fetch = staticmethod(lambda parent_ids, limit, reverse=False: {})
    node_type: str | None = None
    joined: dict[str, str] = {}

    def __init__(self, context) -> None:
        super().__init__(context)
        self._left_out: dict[int, tuple] = {}  # id(field nodes) -> (those nodes, what they leave out)

    def left_out(self, nodes, fragments) -> tuple[str, ...]:
        """The key's fourth part for a connection's field ``nodes`` (computed once per request for each
        field's nodes: every parent on a level of the result asks with the same ones)."""
        if self.node_type is None:
            return ()
        known = self._left_out.get(id(nodes))
        if known is not None and known[0] is nodes:
            return known[1]
        found = columns.page_left_out(nodes, fragments, self.node_type, self.joined)
        self._left_out[id(nodes)] = (nodes, found)
        return found

    def batch(self, keys):
        by_limit: dict[tuple[int, bool, tuple], list[int]] = defaultdict(list)
        for parent_id, limit, reverse, leave_out in keys:
            by_limit[(limit, reverse, leave_out)].append(parent_id)
        found = {}
        for (limit, reverse, leave_out), parent_ids in by_limit.items():
            extra = {"leave_out": leave_out} if leave_out else {}
            for parent_id, rows in self.fetch(parent_ids, limit, reverse=reverse, **extra).items():
                found[(parent_id, limit, reverse, leave_out)] = rows
        return [found.get(key, []) for key in keys]


def by_pk(queryset, keys) -> list:
    """The objects of ``queryset`` with these pks, in the order of ``keys`` (None for a missing one)."""
    found = {obj.pk: obj for obj in queryset.filter(pk__in=set(keys))}
    return [found.get(key) for key in keys]


def cached_or_load(instance, field: str, loader, info):
    """``instance.<field>`` when it was joined in (select_related); else a batched load by its id."""
    if getattr(type(instance), field).is_cached(instance):
        return getattr(instance, field)
    return loader.of(info).load(getattr(instance, f"{field}_id"))
