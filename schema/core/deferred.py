"""Execution with synchronous DataLoader futures, errors handled as the GraphQL spec says.

graphql-sync-dataloaders' ``DeferredExecutionContext`` (0.1.1, 2022) lets resolvers return ``SyncFuture``s that a
DataLoader fills when its batch runs. It drops errors on the way: a field that fails after its loader answered,
when the field is non-null (``viewerIsFollowing: Boolean!`` of a user whose batch raised), raises inside a
future's callback, that future never completes, and the whole response fails ("GraphQL deferred execution failed
to complete": an HTTP 500).

This subclass keeps the library's scheduling (its deferred callbacks dispatch the loaders, level by level) and
carries errors through futures instead: a nullable field that fails is null with its error; a non-null one fails
the future of its parent (``set_exception``), and so on up to the nearest nullable field, exactly as graphql-core
propagates nulls without futures. The rest of the response stands.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from graphql import GraphQLError, located_error
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.type import is_non_null_type
from graphql_sync_dataloaders import DeferredExecutionContext, SyncFuture


class SafeDeferredExecutionContext(DeferredExecutionContext):

    # --- one place for a failed position --------------------------------------------------------------------
    def _fail(self, raw_error: BaseException, field_nodes, path: Path, return_type, future: SyncFuture | None):
        """A field or list item at ``path`` failed: null with its error where ``return_type`` is nullable, else the
        error goes up (raised, or through ``future`` when the parent waits on it)."""
        if not isinstance(raw_error, Exception):
            raise raw_error  # a BaseException (the request's deadline): stops the execution
        error = located_error(raw_error, field_nodes, path.as_list())
        if is_non_null_type(return_type):
            if future is None:
                raise error
            future.set_exception(error)
            return
        self.collected_errors.add(error, path)
        if future is not None:
            future.set_result(None)

    def _settle(self, future: SyncFuture, source: SyncFuture, field_nodes, path: Path, return_type) -> None:
        """``future`` gets ``source``'s value (null-checked) or fails as a field at ``path`` would."""
        try:
            value = source.result()
            if value is None and is_non_null_type(return_type):
                raise TypeError(f"Cannot return null for non-nullable field {path.typename}.{path.key}.")
        except Exception as raw_error:  # noqa: BLE001 - becomes a field error (or its parent's)
            self._fail(raw_error, field_nodes, path, return_type, future)
            return
        future.set_result(value)

    def _chain(self, completed: SyncFuture, field_nodes, path: Path, return_type):
        """The value of a field whose completion is a future: itself when done, else a future of it."""
        future = SyncFuture()
        if completed.done():
            self._settle(future, completed, field_nodes, path, return_type)
            return future.result()  # raises the error of a non-null field: the caller's except handles it
        if completed.deferred_callback:
            self._deferred_callbacks.append(completed.deferred_callback)
        completed.add_done_callback(partial(self._settle, future, completed, field_nodes, path, return_type))
        return future

    # --- fields -----------------------------------------------------------------------------------------------
    def execute_field(self, parent_type, source, field_nodes, path):
        field_def = get_field_def(self.schema, parent_type, field_nodes[0])
        if not field_def:
            return Undefined
        return_type = field_def.type
        resolve_fn = field_def.resolve or self.field_resolver
        if self.middleware_manager:
            resolve_fn = self.middleware_manager.get_field_resolver(resolve_fn)
        info = self.build_resolve_info(field_def, field_nodes, parent_type, path)
        try:
            args = get_argument_values(field_def, field_nodes[0], self.variable_values)
            result = resolve_fn(source, info, **args)
            if isinstance(result, SyncFuture) and not result.done():
                if result.deferred_callback:
                    self._deferred_callbacks.append(result.deferred_callback)
                future = SyncFuture()

                def resolved():
                    try:
                        completed = self.complete_value(return_type, field_nodes, info, path, result.result())
                    except Exception as raw_error:  # noqa: BLE001
                        self._fail(raw_error, field_nodes, path, return_type, future)
                        return
                    self._deliver(future, completed, field_nodes, path, return_type)

                result.add_done_callback(resolved)
                return future
            if isinstance(result, SyncFuture):
                result = result.result()
            completed = self.complete_value(return_type, field_nodes, info, path, result)
            if isinstance(completed, SyncFuture):
                return self._chain(completed, field_nodes, path, return_type)
            return completed
        except Exception as raw_error:  # noqa: BLE001
            self._fail(raw_error, field_nodes, path, return_type, None)
            return None

    def execute_fields_serially(self, parent_type, source_value, path, fields):
        """The object's fields; a future of them while some wait on loaders. A non-null field's error fails the
        object (the future's exception, or raised), as graphql-core does."""
        results: dict[str, Any] = {}
        pending: list[tuple[str, SyncFuture]] = []
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if isinstance(result, SyncFuture):
                if result.done():
                    result = result.result()  # raises a non-null field's error: the object fails
                else:
                    results[response_name] = None  # keeps the order of the fields
                    pending.append((response_name, result))
                    continue
            if result is not Undefined:
                results[response_name] = result
        return self._gather(results, pending)

    execute_fields = execute_fields_serially

    # --- lists ------------------------------------------------------------------------------------------------
    @staticmethod
    def _when_done(result: SyncFuture, complete):
        """``complete(value)`` of a future's value: at once when it is done, else a future of it."""
        if result.done():
            return complete(result.result())
        future = SyncFuture()

        def resolved():
            try:
                value = complete(result.result())
            except Exception as error:  # noqa: BLE001 - the field's own handling decides
                future.set_exception(error)
                return
            if isinstance(value, SyncFuture):
                value.add_done_callback(lambda: _copy(value, future))
            else:
                future.set_result(value)

        result.add_done_callback(resolved)
        return future

    def complete_list_value(self, return_type, field_nodes, info, path, result):
        if isinstance(result, SyncFuture):
            return self._when_done(result, partial(self.complete_list_value, return_type, field_nodes, info, path))
        if not is_iterable(result):
            raise GraphQLError(
                f"Expected Iterable, but did not find one for field '{info.parent_type.name}.{info.field_name}'.")
        item_type = return_type.of_type
        items = list(result)
        results: list[Any] = [None] * len(items)
        pending: list[tuple[int, SyncFuture]] = []
        for index, item in enumerate(items):
            item_path = path.add_key(index, None)
            try:
                if isinstance(item, SyncFuture) and not item.done():
                    if item.deferred_callback:
                        self._deferred_callbacks.append(item.deferred_callback)
                    item_future = SyncFuture()
                    item.add_done_callback(partial(self._complete_item, item_future, item, item_type, field_nodes,
                                                   info, item_path))
                    pending.append((index, item_future))
                    continue
                if isinstance(item, SyncFuture):
                    item = item.result()
                completed = self.complete_value(item_type, field_nodes, info, item_path, item)
                if isinstance(completed, SyncFuture):
                    completed = self._chain(completed, field_nodes, item_path, item_type)
                    if isinstance(completed, SyncFuture):
                        pending.append((index, completed))
                        continue
                results[index] = completed
            except Exception as raw_error:  # noqa: BLE001
                self._fail(raw_error, field_nodes, item_path, item_type, None)  # raises for a non-null item
        return self._gather(results, pending)

    @staticmethod
    def _gather(results, pending: list[tuple]):
        """An object's fields (a dict by response name) or a list's items: ``results`` when nothing is pending,
        else a future of it once every pending (key or index, future) has its value; the first failed (non-null)
        one fails the whole object or list. A field whose value is Undefined (no such field) is left out."""
        if not pending:
            return results
        future = SyncFuture()
        state = {"left": len(pending), "failed": False}

        def done(index: int, item_future: SyncFuture) -> None:
            if state["failed"]:
                return
            try:
                value = item_future.result()
            except Exception as error:  # noqa: BLE001 - a non-null field or item failed: so does its parent
                state["failed"] = True
                future.set_exception(error)
                return
            if value is Undefined:
                del results[index]
            else:
                results[index] = value
            state["left"] -= 1
            if not state["left"]:
                future.set_result(results)

        for index, item_future in pending:
            item_future.add_done_callback(partial(done, index, item_future))
        return future

    def _complete_item(self, future, item, item_type, field_nodes, info, item_path) -> None:
        try:
            completed = self.complete_value(item_type, field_nodes, info, item_path, item.result())
        except Exception as raw_error:  # noqa: BLE001
            self._fail(raw_error, field_nodes, item_path, item_type, future)
            return
        self._deliver(future, completed, field_nodes, item_path, item_type)

    def _deliver(self, future: SyncFuture, completed, field_nodes, path: Path, return_type) -> None:
        """``future`` gets a completed value (a field's, a list item's): at once, or when its own future settles."""
        if isinstance(completed, SyncFuture):
            if completed.done():
                self._settle(future, completed, field_nodes, path, return_type)
            else:
                if completed.deferred_callback:
                    self._deferred_callbacks.append(completed.deferred_callback)
                completed.add_done_callback(partial(self._settle, future, completed, field_nodes, path, return_type))
        else:
            future.set_result(completed)


def _copy(source: SyncFuture, target: SyncFuture) -> None:
    try:
        target.set_result(source.result())
    except Exception as error:  # noqa: BLE001
        target.set_exception(error)
