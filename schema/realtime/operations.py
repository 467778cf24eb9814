"""Operations over a websocket: start one (parse, validate, run or subscribe) and run a subscription's
selection for one event. Everything here is synchronous ORM/GraphQL work for the executor thread.

A subscription field's ``subscribe_<name>`` resolver runs once, as the subscriber, when the
operation starts: it checks arguments and permissions and returns a :class:`Topic` (what to
listen to and how to load an event's object). Each event then executes the subscriber's whole
document with the loaded object as root value: graphene's subscription fields resolve to their
root, so ``postUpdated { likeCount viewerHasLiked }`` is a query on that post, run as the
subscriber (its own loaders, its own viewer flags).
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from django.db import models
from graphql import DocumentNode, OperationType, Visitor, get_operation_ast, located_error, visit
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from graphql_sync_dataloaders import DeferredExecutionContext

from ..core import budget, persisted
from ..core.cost import operation_cost
from ..core.errors import BadUserInput, QueryTooComplex, RequestErrorCode, request_error, set_code
from ..core.execution import (UNKNOWN_OPERATION, UNSTORABLE_TEXT_MESSAGE, RequestError, execute, format_error,
                              has_unstorable_text,
                              graphql_schema, operation_type, parse_and_validate)


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class SocketContext:
    """``info.context`` of an operation over a websocket (and of each event's execution): the viewer.

    Loaders keep their cache on it, so a new one is made for every execution.
    """

    def __init__(self, user, request_id: str, address: str = ""):
        self.user = user
        self.request_id = request_id
        self.headers: dict = {}
        # The client's address, already resolved from the socket's scope (common.client_address).
        self.META: dict = {"REMOTE_ADDR": address} if address else {}


# --- topics ---------------------------------------------------------------------------------
class Batch:
    """What one event's processing shares between subscribers: objects loaded once."""

    def __init__(self) -> None:
        self._memo: dict = {}

    def memo(self, key, load: Callable[[], Any]):
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]


@dataclass(frozen=True, eq=False)
class Topic:
    """What a subscription listens to.

    - ``groups``: channel-layer groups carrying its events (common/events.py names them).
    - ``accept(kind, data)``: a cheap filter on the event's ids, run on the event loop.
    - ``source(batch, kind, data, subs)``: runs in the executor once per event for all the
      accepted subscriptions sharing this source; returns ``(root, receivers)``: the object to
      execute the selections against (None: send nothing) and which of ``subs`` get it.
    - ``prime(root, contexts, field_names)``: optional; before the executions, answers for all
      the subscribers at once what their loaders would ask one by one (e.g. viewer flags).
    """

    groups: tuple[str, ...]
    source: Callable[[Batch, str, dict, list], tuple[Any, list]]
    accept: Callable[[str, dict], bool] = field(default=lambda kind, data: True)
    prime: Callable[[Any, list, frozenset], None] | None = None


# --- starting an operation -----------------------------------------------------------------
@dataclass
class Refused:
    """The operation did not start: request errors (parse, validation, variables, arguments, auth)."""

    errors: list[dict]


@dataclass
class SingleResult:
    """A query's or mutation's result, as JSON text."""

    payload: str


@dataclass
class Stream:
    """A subscription that started: what each event executes (against ``schema``), and its topic."""

    schema: Any
    document: DocumentNode
    variables: dict | None
    operation_name: str | None
    topic: Topic
    # Subscribers whose executions give the same result share them (same document, variables, viewer).
    share_key: tuple = ()
    # Every field name the document selects (for Topic.prime).
    field_names: frozenset = frozenset()


def new_request_id() -> str:
    return uuid.uuid4().hex


def start(schema, viewer, query: str, variables: dict | None, operation_name: str | None, request_id: str,
          address: str = ""):
    """Runs a query or mutation of ``schema``, or sets up a subscription. Returns Refused, SingleResult or Stream.

    Its cost is charged first, as over HTTP (schema/core/budget.py): over the node limit it is
    QUERY_TOO_COMPLEX, over the caller's (``viewer``, else ``address``) budget RATE_LIMITED."""
    schema = graphql_schema(schema)
    if persisted.trusted_path():  # trusted documents: as over HTTP, only the manifest's texts run
        try:
            query = persisted.resolve(query, None).text
        except persisted.DocumentError as error:
            return Refused([request_error(error.code, error.message)])
    try:
        document = parse_and_validate(schema, query)
    except RequestError as error:
        return Refused([format_error(e, request_id) for e in error.errors])
    kind = operation_type(document, operation_name)
    if kind is None:
        return Refused([BadUserInput(UNKNOWN_OPERATION).as_dict()])
    context = SocketContext(viewer, request_id, address)
    refused = _charge(schema, document, operation_name, variables, context)
    if refused is not None:
        return refused
    if kind != OperationType.SUBSCRIPTION:
        result = execute(schema, document, context=context, variables=variables, operation_name=operation_name)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            return Refused([format_error(e, request_id) for e in result.errors])
        return SingleResult(dumps(_result_dict(result, request_id)))
    if variables and has_unstorable_text(variables):  # as over HTTP (each event's execution would refuse them)
        return Refused([BadUserInput(UNSTORABLE_TEXT_MESSAGE).as_dict()])
    return _subscribe(schema, document, context, variables, operation_name, request_id)


def _charge(schema, document, operation_name, variables, context) -> Refused | None:
    try:
        cost = operation_cost(schema, document, get_operation_ast(document, operation_name),
                              variables if isinstance(variables, dict) else None)
    except QueryTooComplex as error:
        return Refused([error.as_dict()])
    charged = budget.charge(context, cost.points)
    if not charged.allowed:
        return Refused([budget.rate_limited(charged).as_dict()])
    return None


def _subscribe(schema, document, context, variables, operation_name, request_id):
    built = DeferredExecutionContext.build(schema, document, None, context, variables, operation_name)
    if isinstance(built, list):  # variables that do not fit their definitions
        for error in built:
            set_code(error, RequestErrorCode.BAD_USER_INPUT)
        return Refused([format_error(e, request_id) for e in built])
    root_type = schema.subscription_type
    fields = collect_fields(schema, built.fragments, built.variable_values, root_type,
                            built.operation.selection_set)
    if not fields:  # the root field is skipped (`@skip(if: true)`): nothing to subscribe to
        return Refused([request_error(RequestErrorCode.GRAPHQL_VALIDATION_FAILED,
                                      "A subscription must select exactly one top-level field; "
                                      "it cannot be skipped with @skip or @include.")])
    response_name, nodes = next(iter(fields.items()))
    field_def = root_type.fields[nodes[0].name.value]
    path = Path(None, response_name, root_type.name)
    info = built.build_resolve_info(field_def, nodes, root_type, path)
    try:
        args = get_argument_values(field_def, nodes[0], built.variable_values)
        topic = field_def.subscribe(None, info, **args)
        if not isinstance(topic, Topic):
            raise TypeError(f"subscribe resolver of {field_def} returned {type(topic).__name__}, not a Topic")
    except Exception as error:  # noqa: BLE001 - becomes the client's error (or a logged internal one)
        return Refused([format_error(located_error(error, nodes, path.as_list()), request_id)])
    viewer_key = context.user.pk if getattr(context.user, "is_authenticated", False) else None
    share_key = (id(document), dumps(variables or {}), operation_name, viewer_key)
    return Stream(schema, document, variables, operation_name, topic, share_key, _field_names(document))


@lru_cache(maxsize=2048)
def _field_names(document: DocumentNode) -> frozenset:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node, *args):
            names.add(node.name.value)

    visit(document, Collect())
    return frozenset(names)


def is_error_payload(payload_json: str) -> bool:
    """Whether a payload made by :func:`run_event` holds errors (they come first: see _result_dict)."""
    return payload_json.startswith('{"errors"')


def _result_dict(result, request_id) -> dict:
    body: dict = {}  # "errors" first: is_error_payload reads it
    if result.errors:
        body["errors"] = [format_error(e, request_id) for e in result.errors]
    body["data"] = result.data
    return body


# --- one event -----------------------------------------------------------------------------
def run_event(stream: Stream, root, context: SocketContext) -> str:
    """The subscriber's selection executed against ``root`` as ``context.user``: the `next` payload as JSON."""
    if isinstance(root, models.Model):
        root = copy.copy(root)  # resolvers may cache per-viewer data on it; the original is shared
    result = execute(stream.schema, stream.document, context=context, variables=stream.variables,
                     operation_name=stream.operation_name, root=root)
    return dumps(_result_dict(result, context.request_id))


__all__ = ["Batch", "SocketContext", "Topic", "Refused", "SingleResult", "Stream", "start", "run_event", "is_error_payload"]
