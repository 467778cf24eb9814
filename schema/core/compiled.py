"""Compiled execution of queries: the selection is planned once per document, then run with plain loops.

graphql-core re-discovers, for every value of every field, what the document already says: the field's
definition and resolver, its arguments, the sub-selection of its type, how its return type completes. Here a
plan is built once per (schema, operation, @skip/@include variables) and kept on the operation node (it lives
as long as the parsed document, which the document cache bounds). For every field of the selection it holds:

- the response key, field definition, resolver, and the info fields that do not change (name, nodes, types);
- the arguments when they are literals (coerced once), else a note to coerce them once per request;
- a completion function for the return type, composed at compile time: non-null check, list, leaf
  ``serialize``, object sub-plan (with ``is_type_of``), or for an abstract type ``resolve_type`` then the
  sub-plan of that concrete type (one per possible type, built up front).

@skip/@include with literal conditions are decided at compile time; with variables, the plan is per value of
those variables (a handful of plans at most). Execution keeps graphql-sync-dataloaders' level-by-level
dispatch and the error handling of :class:`schema.core.deferred.SafeDeferredExecutionContext` (its ``_fail``,
``_settle`` and ``_chain`` are used as they are), and the request's deadline is checked before every field
as in :class:`schema.core.execution.ExecutionContext` — but for the fields read straight off their object (a leaf,
an edge's node): microseconds of work, whose next resolver or loader batch checks it.

Anything the compiler does not cover runs graphql-core's path unchanged: mutations and subscriptions,
introspection (``__schema``, ``__type``), field middleware, and any document the planner fails on (its error,
if any, is then raised by graphql-core where it would be).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import threading
import uuid
from functools import partial
from typing import Any, Callable

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationType,
    VariableNode,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.execute import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.language import visit, Visitor
from graphql.pyutils import Path, Undefined, inspect, is_iterable
from graphql.type import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLString,
    TypeNameMetaFieldDef,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from django.utils.functional import SimpleLazyObject
from graphene import relay
from graphene.relay.id_type import DefaultGlobalIDType
from graphene.relay.node import GlobalID
from graphene.types.resolver import dict_or_attr_resolver
from graphene_django.types import DjangoObjectType
from graphql_sync_dataloaders import SyncFuture

from .deadline import DeadlineExceeded, current_deadline
from .node import global_id

_tuple_new = tuple.__new__
_IMMUTABLE = (str, int, float, bool, type(None), enum.Enum, datetime.date, datetime.time, datetime.timedelta,
              decimal.Decimal, uuid.UUID)
# Plans kept per operation (one per combination of the @skip/@include variables); beyond: graphql-core.
MAX_PLANS_PER_OPERATION = 16


class NotCompiled(Exception):
    """The planner does not cover this operation: graphql-core runs it."""


def _immutable(value) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(item) for item in value)
    return isinstance(value, _IMMUTABLE)


class FieldPlan:
    """One field of a selection on one object type."""

    __slots__ = ("key", "nodes", "return_type", "resolve", "args", "field_def", "info_head", "complete",
                 "typename", "read", "as_is", "serialize", "nullable", "leaf", "read_object")

    def __init__(self, key, nodes, field_def, parent_type, resolve, args, complete, typename=None):
        self.key = key
        self.nodes = nodes
        self.field_def = field_def
        self.return_type = field_def.type
        self.resolve = resolve
        self.args = args  # a dict (literal arguments, coerced once) or None (coerced per request)
        self.complete = complete
        self.typename = typename  # __typename: the parent type's name, no resolver
        # GraphQLResolveInfo's first fields (then path, then the request's: see CompiledExecution)
        self.info_head = (nodes[0].name.value, nodes, field_def.type, parent_type)
        # A leaf read straight off its object (see _direct_read): source -> value, no info, no path.
        self.read = None
        # An object or list read straight off its object (graphene's default resolver): source -> value,
        # then completed with the plan's completion (see CompiledExecution.execute_plan_fields).
        self.read_object = None
        self.as_is = self.serialize = None
        self.nullable = False
        leaf = field_def.type.of_type if is_non_null_type(field_def.type) else field_def.type
        self.leaf = is_leaf_type(leaf)  # a loader's pending value completes straight into its object's fields
        if typename is None and args == {} and resolve is not None:
            if self.leaf:
                self.read = _direct_read(resolve, parent_type)
                self.as_is = _AS_IS.get(leaf)
                self.serialize = leaf.serialize
                self.nullable = not is_non_null_type(field_def.type)
            else:
                self.read_object = _direct_read(resolve, parent_type)


def _direct_read(resolve, parent_type) -> Callable | None:
    """For graphene's default resolver (an attribute or dict key) and the Relay ``id`` of a Django type: the
    same value as a function of the source alone; None for any other resolver."""
    if isinstance(resolve, partial) and resolve.func is dict_or_attr_resolver and not resolve.keywords:
        name, default = resolve.args

        def read(source):
            if isinstance(source, dict):
                return source.get(name, default)
            return getattr(source, name, default)

        return read
    if (isinstance(resolve, partial) and resolve.func is GlobalID.id_resolver and len(resolve.args) == 2
            and resolve.args[0] is DjangoObjectType.resolve_id and resolve.keywords == {"parent_type_name": None}):
        node, typename = resolve.args[1], parent_type.name
        if (getattr(node.to_global_id, "__func__", None) is relay.Node.to_global_id.__func__
                and node._meta.global_id_type is DefaultGlobalIDType):  # graphene's own: base64 of "Type:pk"
            return lambda source: global_id(typename, source.pk)
        to_global_id = node.to_global_id
        return lambda source: to_global_id(typename, source.pk)
    return None


class _Waiting:
    """A leaf field whose resolver returned a loader's pending future (see CompiledExecution._gather_fields)."""

    __slots__ = ("plan", "info", "path", "future")

    def __init__(self, plan, info, path, future):
        self.plan = plan
        self.info = info
        self.path = path
        self.future = future


class OperationPlan:
    __slots__ = ("root_type", "fields")

    def __init__(self, root_type, fields):
        self.root_type = root_type
        self.fields = fields


class _Planner:
    """Builds the plan of one operation for given @skip/@include variable values."""

    def __init__(self, context, directive_variables: dict):
        self.context = context
        self.schema = context.schema
        self.fragments = context.fragments
        self.variables = directive_variables
        self.field_resolver = context.field_resolver
        self.type_resolver = context.type_resolver

    def operation(self, operation) -> OperationPlan:
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise NotCompiled("no root type")
        fields = collect_fields(self.schema, self.fragments, self.variables, root_type, operation.selection_set)
        return OperationPlan(root_type, self.fields(root_type, fields))

    def fields(self, parent_type, fields: dict) -> list[FieldPlan]:
        return [self.field(parent_type, key, nodes) for key, nodes in fields.items()]

    def field(self, parent_type, key: str, nodes: list[FieldNode]) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            field_def = TypeNameMetaFieldDef
            return FieldPlan(key, nodes, field_def, parent_type, None, {}, None, typename=parent_type.name)
        if name.startswith("__"):
            raise NotCompiled("introspection")
        field_def = parent_type.fields.get(name)
        if field_def is None:
            raise NotCompiled(f"unknown field {parent_type.name}.{name}")
        resolve = field_def.resolve or self.field_resolver
        args = self.literal_args(field_def, nodes[0])
        complete = self.completer(field_def.type, nodes)
        return FieldPlan(key, nodes, field_def, parent_type, resolve, args, complete)

    @staticmethod
    def literal_args(field_def, node: FieldNode):
        """The coerced arguments when the node has no variables and they are immutable; else None."""
        if not field_def.args and not node.arguments:
            return {}
        has_variable = False

        class Finder(Visitor):
            def enter_variable(self, *_):
                nonlocal has_variable
                has_variable = True
                return self.BREAK

        for argument in node.arguments:
            visit(argument, Finder())
        if has_variable:
            return None
        try:
            args = get_argument_values(field_def, node, {})
        except Exception:  # noqa: BLE001 - raised per value at execution, as graphql-core does
            return None
        if all(_immutable(value) for value in args.values()):
            return args
        return None

    # --- completion of a return type -----------------------------------------------------------------------
    # graphql-core's complete_value, one function per type. A non-null wrapper only changes what a null
    # (or undefined) result does: the wrapped type's function raises graphql-core's error itself.
    def completer(self, return_type, nodes) -> Callable:
        non_null = is_non_null_type(return_type)
        if non_null:
            return_type = return_type.of_type
            if is_non_null_type(return_type):
                raise NotCompiled("non-null of non-null")
        if is_list_type(return_type):
            return self.list_(return_type, nodes, non_null)
        if is_leaf_type(return_type):
            return self.leaf(return_type, non_null)
        if is_abstract_type(return_type):
            return self.abstract(return_type, nodes, non_null)
        if is_object_type(return_type):
            return self.object_(return_type, nodes, non_null)
        raise NotCompiled(f"unexpected type {return_type}")

    @staticmethod
    def leaf(return_type, non_null: bool):
        serialize = return_type.serialize
        # The built-in scalars' serialize returns these values as they are: skipped for them.
        as_is = _AS_IS.get(return_type)

        def complete_leaf(ctx, info, path, result):
            if type(result) is as_is:
                if as_is is not int or -0x80000000 <= result <= 0x7FFFFFFF:
                    return result
            if isinstance(result, Exception):
                raise result
            if result is None or result is Undefined:
                if non_null:
                    raise _null_error(info)
                return None
            serialized = serialize(result)
            if serialized is Undefined or serialized is None:
                raise TypeError(f"Expected `{inspect(return_type)}.serialize({inspect(result)})`"
                                f" to return non-nullable value, returned: {inspect(serialized)}")
            return serialized

        return complete_leaf

    def list_(self, return_type: GraphQLList, nodes, non_null: bool):
        item_type = return_type.of_type
        item_complete = self.completer(item_type, nodes)

        def complete_list(ctx, info, path, result):
            if isinstance(result, Exception):
                raise result
            if result is None or result is Undefined:
                if non_null:
                    raise _null_error(info)
                return None
            return ctx.complete_plan_list(item_type, item_complete, nodes, info, path, result)

        return complete_list

    def object_(self, return_type, nodes, non_null: bool):
        sub_fields = collect_sub_fields(self.schema, self.fragments, self.variables, return_type, nodes)
        plans = self.fields(return_type, sub_fields)
        is_type_of = return_type.is_type_of
        # graphene-django's is_type_of answers by the result's class alone (a lazy object aside): the classes
        # it accepted are remembered, and their instances not asked again.
        by_class = getattr(is_type_of, "__func__", None) is _DJANGO_IS_TYPE_OF
        accepted: set = set()

        def complete_object(ctx, info, path, result):
            if isinstance(result, Exception):
                raise result
            if result is None or result is Undefined:
                if non_null:
                    raise _null_error(info)
                return None
            if is_type_of is not None and type(result) not in accepted:
                if not is_type_of(result, info):
                    raise invalid_return_type_error(return_type, result, nodes)
                if by_class and not isinstance(result, SimpleLazyObject):
                    accepted.add(type(result))
            return ctx.execute_plan_fields(return_type, result, path, plans)

        return complete_object

    def abstract(self, return_type, nodes, non_null: bool):
        resolve_type = return_type.resolve_type or self.type_resolver
        # the concrete types' completions (a result is not null by then)
        by_name = {t.name: self.object_(t, nodes, False) for t in self.schema.get_possible_types(return_type)}

        def complete_abstract(ctx, info, path, result):
            if isinstance(result, Exception):
                raise result
            if result is None or result is Undefined:
                if non_null:
                    raise _null_error(info)
                return None
            name = resolve_type(result, info, return_type)
            complete = by_name.get(name) if isinstance(name, str) else None
            if complete is None:
                # graphql-core's checks and messages; a valid type it returns is one of by_name's
                runtime_type = ctx.ensure_valid_runtime_type(name, return_type, nodes, info, result)
                complete = by_name[runtime_type.name]
            return complete(ctx, info, path, result)

        return complete_abstract


_DJANGO_IS_TYPE_OF = DjangoObjectType.is_type_of.__func__
_AS_IS = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool, GraphQLInt: int}


def _null_error(info) -> TypeError:
    return TypeError(f"Cannot return null for non-nullable field {info.parent_type.name}.{info.field_name}.")


def _directive_variables(operation, fragments) -> tuple[str, ...]:
    """The variables that @skip/@include conditions read in the operation and its fragments."""
    names: list[str] = []

    class Finder(Visitor):
        def enter_directive(self, node, *_):
            if node.name.value in ("skip", "include"):
                for argument in node.arguments:
                    if isinstance(argument.value, VariableNode) and argument.value.name.value not in names:
                        names.append(argument.value.name.value)

    visit(operation, Finder())
    for fragment in fragments.values():
        visit(fragment, Finder())
    return tuple(names)


class _OperationEntry:
    """What is kept on an operation node: its plans per @skip/@include variable values."""

    __slots__ = ("schema", "variable_names", "plans", "lock")

    def __init__(self, schema, variable_names):
        self.schema = schema
        self.variable_names = variable_names
        self.plans: dict = {}
        self.lock = threading.Lock()


_ENTRY_ATTRIBUTE = "_compiled_plans"
_NOT_COMPILED = object()


def plan_for(context) -> OperationPlan | None:
    """The plan of ``context``'s operation (built on first use), or None: graphql-core runs it."""
    operation = context.operation
    if operation.operation != OperationType.QUERY or context.middleware_manager is not None:
        return None
    entry = getattr(operation, _ENTRY_ATTRIBUTE, None)
    if entry is None or entry.schema is not context.schema:
        entry = _OperationEntry(context.schema, _directive_variables(operation, context.fragments))
        try:
            setattr(operation, _ENTRY_ATTRIBUTE, entry)
        except AttributeError:  # a node that takes no attributes: planned per request (still correct)
            pass
    variables = context.variable_values
    present = {name: variables[name] for name in entry.variable_names if name in variables}
    signature = tuple((name, present.get(name, Undefined)) for name in entry.variable_names)
    try:
        plan = entry.plans.get(signature)
    except TypeError:  # an unhashable value (not a Boolean: validation keeps them out)
        return None
    if plan is None:
        if len(entry.plans) >= MAX_PLANS_PER_OPERATION:
            return None
        try:
            plan = _Planner(context, present).operation(operation)
        except Exception:  # noqa: BLE001 - NotCompiled, or an error graphql-core raises where it would
            plan = _NOT_COMPILED
        with entry.lock:
            entry.plans.setdefault(signature, plan)
    return None if plan is _NOT_COMPILED else plan


class CompiledExecution:
    """A mixin for :class:`schema.core.execution.ExecutionContext`: queries run their plan; the rest,
    graphql-core's path of the base class."""

    def execute_operation(self, operation, root_value):
        plan = plan_for(self)
        if plan is None:
            return super().execute_operation(operation, root_value)
        self._deadline = current_deadline.get()
        self._args = {}
        self._info_tail = (self.schema, self.fragments, self.root_value, self.operation, self.variable_values,
                           self.context_value, self.is_awaitable)
        self._deferred_callbacks = []
        result = self.execute_plan_fields(plan.root_type, root_value, None, plan.fields)
        callbacks = self._deferred_callbacks
        while callbacks:
            callbacks.pop(0)()
        if isinstance(result, SyncFuture):
            if not result.done():
                raise RuntimeError("GraphQL deferred execution failed to complete.")
            return result.result()
        return result

    # --- arguments ------------------------------------------------------------------------------------------
    def _plan_args(self, plan: FieldPlan) -> dict:
        args = self._args.get(plan)
        if args is None:
            args = get_argument_values(plan.field_def, plan.nodes[0], self.variable_values)
            if all(_immutable(value) for value in args.values()):
                self._args[plan] = args
        return args

    # --- fields ---------------------------------------------------------------------------------------------
    def execute_plan_field(self, plan: FieldPlan, source, path: Path):
        deadline = self._deadline
        if deadline is not None:
            if deadline.expired():
                raise DeadlineExceeded(deadline, path.as_list())
            deadline.last_path = path
        if plan.typename is not None:
            return plan.typename
        info = _tuple_new(GraphQLResolveInfo, plan.info_head + (path,) + self._info_tail)
        try:
            args = plan.args
            if args is None:
                args = self._plan_args(plan)
            result = plan.resolve(source, info, **args)
            if plan.leaf and isinstance(result, SyncFuture) and not result.done():
                if result.deferred_callback:
                    self._deferred_callbacks.append(result.deferred_callback)
                return _Waiting(plan, info, path, result)
            return self._finish(plan, info, path, result)
        except Exception as raw_error:  # noqa: BLE001
            self._fail(raw_error, plan.nodes, path, plan.return_type, None)
            return None

    def _complete_read(self, plan: FieldPlan, source, path: Path, read):
        """:meth:`execute_plan_field` for an object or list field read off ``source`` (``plan.read_object``): no
        resolver call, the same completion and errors."""
        info = _tuple_new(GraphQLResolveInfo, plan.info_head + (path,) + self._info_tail)
        try:
            return self._finish(plan, info, path, read(source))
        except Exception as raw_error:  # noqa: BLE001
            self._fail(raw_error, plan.nodes, path, plan.return_type, None)
            return None

    def _finish(self, plan: FieldPlan, info, path: Path, result):
        """The field's value from what its resolver (or read) gave: completed now, or a future of it when the
        resolver's future is not done. Raises what the completion raises (the caller reports it)."""
        if isinstance(result, SyncFuture):
            if not result.done():
                return self._later(plan, info, path, result)
            result = result.result()
        completed = plan.complete(self, info, path, result)
        if isinstance(completed, SyncFuture):
            return self._chain(completed, plan.nodes, path, plan.return_type)
        return completed

    def _later(self, plan: FieldPlan, info, path: Path, result: SyncFuture) -> SyncFuture:
        """A field whose resolver's future is not done yet (SafeDeferredExecutionContext.execute_field)."""
        if result.deferred_callback:
            self._deferred_callbacks.append(result.deferred_callback)
        future = SyncFuture()
        nodes, return_type = plan.nodes, plan.return_type

        def resolved():
            try:
                completed = plan.complete(self, info, path, result.result())
            except Exception as raw_error:  # noqa: BLE001
                self._fail(raw_error, nodes, path, return_type, future)
                return
            self._deliver(future, completed, nodes, path, return_type)

        result.add_done_callback(resolved)
        return future

    def execute_plan_fields(self, parent_type, source, path, plans: list[FieldPlan]):
        """The object's fields (SafeDeferredExecutionContext.execute_fields_serially over a plan)."""
        results: dict[str, Any] = {}
        pending: list[tuple[str, SyncFuture]] = []
        typename = parent_type.name
        execute_field = self.execute_plan_field
        for plan in plans:
            key = plan.key
            read = plan.read
            if read is not None:
                # A leaf read off the object: its value as it is, or serialized; anything unusual (an
                # exception, a null for a non-null field, a value to coerce) takes the general path below,
                # which reads it again and reports it as graphql-core would.
                try:
                    value = read(source)
                    as_is = plan.as_is
                    if type(value) is as_is and (as_is is not int or -0x80000000 <= value <= 0x7FFFFFFF):
                        results[key] = value
                        continue
                    if value is None:
                        if plan.nullable:
                            results[key] = None
                            continue
                    elif as_is is None and not isinstance(value, (Exception, SyncFuture)):
                        serialized = plan.serialize(value)
                        if serialized is not None and serialized is not Undefined:
                            results[key] = serialized
                            continue
                except Exception:  # noqa: BLE001
                    pass
            read = plan.read_object
            if read is not None:
                result = self._complete_read(plan, source, _tuple_new(Path, (path, key, typename)), read)
            else:
                result = execute_field(plan, source, _tuple_new(Path, (path, key, typename)))
            if isinstance(result, SyncFuture):
                if result.done():
                    result = result.result()  # raises a non-null field's error: the object fails
                else:
                    results[key] = None  # keeps the order of the fields
                    pending.append((key, result))
                    continue
            elif type(result) is _Waiting:
                results[key] = None
                pending.append((key, result))
                continue
            results[key] = result
        if not pending:
            return results
        return self._gather_fields(results, pending)

    def _gather_fields(self, results: dict, pending: list):
        """:meth:`_gather` for an object's fields, some of which wait on a loader's value for a leaf
        (a :class:`_Waiting`): that value is completed and stored when it comes, with no future of its own."""
        future = SyncFuture()
        state = [len(pending), False]  # fields left, failed

        def stored(key, value) -> None:
            if value is Undefined:
                del results[key]
            else:
                results[key] = value
            state[0] -= 1
            if not state[0]:
                future.set_result(results)

        def failed(error) -> None:
            state[1] = True
            future.set_exception(error)

        def settled(key, item_future) -> None:
            if state[1]:
                return
            try:
                value = item_future.result()
            except Exception as error:  # noqa: BLE001 - a non-null field failed: so does its object
                failed(error)
                return
            stored(key, value)

        def completed(key, waiting) -> None:
            if state[1]:
                return
            plan = waiting.plan
            try:
                value = plan.complete(self, waiting.info, waiting.path, waiting.future.result())
            except Exception as raw_error:  # noqa: BLE001
                try:
                    self._fail(raw_error, plan.nodes, waiting.path, plan.return_type, None)
                except Exception as error:  # noqa: BLE001 - a non-null leaf: its object fails
                    failed(error)
                    return
                value = None
            stored(key, value)

        for key, item in pending:
            if type(item) is _Waiting:
                item.future.add_done_callback(partial(completed, key, item))
            else:
                item.add_done_callback(partial(settled, key, item))
        return future

    # --- lists ----------------------------------------------------------------------------------------------
    def complete_plan_list(self, item_type, item_complete, nodes, info, path, result):
        """SafeDeferredExecutionContext.complete_list_value with the item's planned completion."""
        if isinstance(result, SyncFuture):
            return self._when_done(result, partial(self.complete_plan_list, item_type, item_complete, nodes, info, path))
        if not is_iterable(result):
            raise GraphQLError(
                f"Expected Iterable, but did not find one for field '{info.parent_type.name}.{info.field_name}'.")
        items = list(result)
        results: list[Any] = [None] * len(items)
        pending: list[tuple[int, SyncFuture]] = []
        for index, item in enumerate(items):
            item_path = _tuple_new(Path, (path, index, None))
            try:
                if isinstance(item, SyncFuture):
                    if not item.done():
                        if item.deferred_callback:
                            self._deferred_callbacks.append(item.deferred_callback)
                        item_future = SyncFuture()
                        item.add_done_callback(partial(self._complete_plan_item, item_future, item, item_type,
                                                       item_complete, nodes, info, item_path))
                        pending.append((index, item_future))
                        continue
                    item = item.result()
                completed = item_complete(self, info, item_path, item)
                if isinstance(completed, SyncFuture):
                    completed = self._chain(completed, nodes, item_path, item_type)
                    if isinstance(completed, SyncFuture):
                        pending.append((index, completed))
                        continue
                results[index] = completed
            except Exception as raw_error:  # noqa: BLE001
                self._fail(raw_error, nodes, item_path, item_type, None)  # raises for a non-null item
        return self._gather(results, pending)

    def _complete_plan_item(self, future, item, item_type, item_complete, nodes, info, item_path) -> None:
        try:
            completed = item_complete(self, info, item_path, item.result())
        except Exception as raw_error:  # noqa: BLE001
            self._fail(raw_error, nodes, item_path, item_type, future)
            return
        self._deliver(future, completed, nodes, item_path, item_type)
