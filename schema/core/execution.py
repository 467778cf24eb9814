"""Running a GraphQL operation: shared by the HTTP view and the websocket consumer.

Nothing here knows the composed schema (schema/api.py): the view and the consumers are built
with it (config/urls.py, config/asgi.py) and pass it in.

- Documents are parsed and validated once per distinct query text (an LRU cache bounded in bytes);
  the limits (depth, fields, aliases, nodes) are checked first and alone.
- Execution uses DeferredExecutionContext so per-request DataLoaders batch; queries run a plan compiled once
  per document (schema/core/compiled.py; GRAPHQL_COMPILED_EXECUTION).
- Errors are formatted in one place: known errors keep their ``extensions.code``;
  anything unexpected is logged with the request id and reaches the client as
  INTERNAL_SERVER_ERROR with that id only.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict, namedtuple

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    validate,
)
from graphql import execute as graphql_execute
from graphql_jwt.exceptions import JSONWebTokenError
from graphql import ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule, OverlappingFieldsCanBeMergedRule
from graphql import TypeInfo, ValidationContext
from graphql.validation.validate import ValidationAbortedError

from common.deadlines import Deadline
from common.observability import note_graphql_operation

from . import outages
from .cost import NodeLimit, max_nodes
from .credentials import OneCredentialFieldPerDocument
from .deadline import DeadlineExceeded, current_deadline
from .compiled import CompiledExecution
from .deferred import SafeDeferredExecutionContext
from .errors import BadUserInput, Forbidden, QueryTooComplex, RequestErrorCode, Timeout, set_code
from .limits import MERGE_ABORTED, BoundedOverlappingFields, QueryComplexityLimits


logger = logging.getLogger("schema.errors")

UNSTORABLE_TEXT_MESSAGE = ("Text may not contain NUL (\\u0000) or unpaired surrogate (\\ud800-\\udfff) "
                           "characters: they cannot be stored.")
UNKNOWN_OPERATION = "Unknown or ambiguous operation; give a valid operationName."
INTROSPECTION_OFF = "Introspection (`__schema`, `__type`) is turned off on this server; see its API reference."

# What PostgreSQL cannot store in text (NUL) or psycopg cannot encode as UTF-8 (lone surrogates, which
# JSON's "\ud800" escapes make): refused up front, whatever field or argument the text is meant for.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_unstorable_text(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


class NoUnstorableText(ValidationRule):
    """Refuses string literals holding text PostgreSQL cannot store (BAD_USER_INPUT) before any resolver runs."""

    def enter_string_value(self, node, *args):
        if is_unstorable_text(node.value):
            self.report_error(BadUserInput(UNSTORABLE_TEXT_MESSAGE, nodes=node))


def has_unstorable_text(value) -> bool:
    """Whether any string in a JSON value (variables: keys and values, at any depth) cannot be stored."""
    # Iterative: deeply nested JSON variables must not raise RecursionError (a 500).
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if is_unstorable_text(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# The document limits and the node count: run first, alone (a failure skips every other rule). Each is a
# ValidationRule acting in enter_operation_definition only (see _limit_errors).
LIMIT_RULES: list = [OneCredentialFieldPerDocument, QueryComplexityLimits, NodeLimit]
# Extra rules run with graphql-core's specified ones.
VALIDATION_RULES: list = [NoUnstorableText]


class NoIntrospection(NoSchemaIntrospectionCustomRule):
    """With GRAPHQL_INTROSPECTION off: `__schema` and `__type` are refused (`__typename` is fine);
    GRAPHQL_VALIDATION_FAILED, as Apollo Server does."""

    def enter_field(self, node, *args):
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError(INTROSPECTION_OFF, node))


class ExecutionContext(SafeDeferredExecutionContext):
    """Deferred execution (DataLoaders batch; errors in loader batches stay field errors: schema/core/deferred.py),
    checked against the request's deadline."""

    def execute_field(self, parent_type, source, field_nodes, path):
        # The request's deadline (and its client's presence), checked before every field: past it the whole
        # operation stops (see execute), whatever depth or batch it is in.
        deadline = current_deadline.get()
        if deadline is not None:
            if deadline.expired():
                raise DeadlineExceeded(deadline, path.as_list())
            deadline.last_path = path
        return super().execute_field(parent_type, source, field_nodes, path)


class CompiledExecutionContext(CompiledExecution, ExecutionContext):
    """Queries run a plan built once per document (schema/core/compiled.py); the rest as ExecutionContext."""


def execution_context_class():
    return CompiledExecutionContext if getattr(settings, "GRAPHQL_COMPILED_EXECUTION", False) else ExecutionContext


class RequestError(Exception):
    """The document could not be run at all (parse or validation failure)."""

    def __init__(self, errors: list[GraphQLError]):
        super().__init__(errors[0].message if errors else "invalid request")
        self.errors = errors


def graphql_schema(schema) -> GraphQLSchema:
    """The graphql-core schema of a graphene ``Schema`` (or the schema itself)."""
    return getattr(schema, "graphql_schema", schema)


def parse_and_validate(schema, query: str) -> DocumentNode:
    """The document of ``query``, valid for ``schema``; raises RequestError. Cached per schema and query text."""
    return _parse_and_validate(graphql_schema(schema), query)


class DocumentCache:
    """An LRU cache of parsed and validated documents bounded in bytes of query text (not entries).

    ``GRAPHQL_DOCUMENT_CACHE_BYTES`` (read on each insert); a text larger than the bound is not kept.
    Refusals (parse and validation errors) are kept too: a repeated bad document costs a look-up.
    Thread-safe; ``cache_info()`` / ``cache_clear()`` as functools' caches.
    """

    Info = namedtuple("CacheInfo", "hits misses currsize maxsize bytes")

    def __init__(self, build):
        self._build = build
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def max_bytes() -> int:
        return int(getattr(settings, "GRAPHQL_DOCUMENT_CACHE_BYTES", 8 * 1024 * 1024))

    def __call__(self, schema: GraphQLSchema, query: str):
        key = (schema, query, _policy())
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if entry is None:
            entry = self._store(key, len(query.encode("utf-8", "surrogatepass")), self._outcome(schema, query))
        if isinstance(entry[1], RequestError):
            raise entry[1]
        return entry[1]

    def _outcome(self, schema, query):
        try:
            return self._build(schema, query)
        except RequestError as error:
            return error

    def _store(self, key, size: int, value):
        entry = (size, value)
        limit = self.max_bytes()
        with self._lock:
            self.misses += 1
            if size > limit or key in self._entries:
                return self._entries.get(key, entry)
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > limit:
                _, (old_size, _) = self._entries.popitem(last=False)
                self._bytes -= old_size
        return entry

    def cache_info(self):
        with self._lock:
            return self.Info(self.hits, self.misses, len(self._entries), self.max_bytes(), self._bytes)

    def cache_clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0


def introspection_allowed() -> bool:
    return bool(getattr(settings, "GRAPHQL_INTROSPECTION", True))


def _policy() -> tuple:
    # What validation depends on besides the text: cached results are per policy (tests change settings).
    return introspection_allowed(), max_nodes()


def _parse_and_validate_uncached(schema: GraphQLSchema, query: str) -> DocumentNode:
    try:
        document = parse(query, max_tokens=20000)
    except GraphQLSyntaxError as error:
        set_code(error, RequestErrorCode.GRAPHQL_PARSE_FAILED)
        raise RequestError([error]) from None
    hide_suggestions = not introspection_allowed()
    try:
        # The limits first, alone: a document over them never meets the (costlier) specified rules.
        errors = _limit_errors(schema, document)
        if not errors:
            errors = validate(schema, document, rules=_rules(), max_errors=20, hide_suggestions=hide_suggestions)
    except GraphQLError as error:
        # graphql-core 3.2's single-root-field rule raises (instead of reporting) for
        # `subscription ($s: Boolean!) { field @skip(if: $s) }`: still just an invalid document.
        errors = [error]
    if errors:
        errors = [QueryTooComplex(MERGE_ABORTED) if isinstance(e, ValidationAbortedError) else e for e in errors]
        for error in errors:
            if "code" not in (error.extensions or {}):
                set_code(error, RequestErrorCode.GRAPHQL_VALIDATION_FAILED)
        raise RequestError(list(errors))
    return document


_parse_and_validate = DocumentCache(_parse_and_validate_uncached)


def _limit_errors(schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
    """The errors of LIMIT_RULES, run on each operation without graphql-core's visit of the whole
    document (they walk the selections themselves and stop at the first limit passed)."""
    errors: list[GraphQLError] = []
    context = ValidationContext(schema, document, TypeInfo(schema), errors.append)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for rule in LIMIT_RULES:
        checker = rule(context)
        for operation in operations:
            checker.enter_operation_definition(operation)
            if errors:
                return errors
    return errors


def _rules():
    from graphql.validation import specified_rules

    rules = [BoundedOverlappingFields if rule is OverlappingFieldsCanBeMergedRule else rule
             for rule in specified_rules]
    rules += VALIDATION_RULES
    if not introspection_allowed():
        rules.append(NoIntrospection)
    return rules


def operation_type(document: DocumentNode, operation_name: str | None) -> OperationType | None:
    operation = get_operation_ast(document, operation_name)
    return operation.operation if operation is not None else None


def root_field_names(document: DocumentNode, operation: OperationDefinitionNode) -> set[str]:
    """The names of the fields an operation selects at its root (through fragments too)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: set[str] = set()
    seen: set[str] = set()
    stack = [operation.selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    stack.append(fragment.selection_set)
    return names


def _observe(document: DocumentNode, operation_name: str | None, result: ExecutionResult) -> ExecutionResult:
    # The request line and metrics name the operation (common/observability.py; a no-op over websockets).
    operation = get_operation_ast(document, operation_name)
    note_graphql_operation(operation.name.value if operation is not None and operation.name else None,
                           errors=bool(result.errors))
    return result


def execute(schema, document: DocumentNode, *, context, variables=None, operation_name=None,
            root=None) -> ExecutionResult:
    """Runs a parsed, validated document against ``schema`` (per-request loaders batch)."""
    if variables and has_unstorable_text(variables):
        return _observe(document, operation_name,
                        ExecutionResult(data=None, errors=[BadUserInput(UNSTORABLE_TEXT_MESSAGE)]))
    token = current_deadline.set(Deadline.for_request(context))
    try:
        result = graphql_execute(
            graphql_schema(schema),
            document,
            root_value=root,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            execution_context_class=execution_context_class(),
            hide_suggestions=not introspection_allowed(),
        )
    except DeadlineExceeded as stop:
        logger.warning("GraphQL request %s stopped at %s: %s", getattr(context, "request_id", None), stop.path,
                       stop.args[0])
        # With a path: the operation ran (HTTP 200, data null), it did not fail as a request.
        error = Timeout(stop.args[0])
        error.path = stop.path
        result = ExecutionResult(data=None, errors=[error])
    finally:
        current_deadline.reset(token)
    if result.errors:
        for error in result.errors:
            # Variable coercion errors: no path, no original error.
            if error.path is None and "code" not in (error.extensions or {}):
                set_code(error, RequestErrorCode.BAD_USER_INPUT)
    return _observe(document, operation_name, result)


def _statement_timed_out(error: BaseException) -> bool:
    """PostgreSQL cancelled a statement (statement_timeout, SQLSTATE 57014): Django's error wraps psycopg's."""
    return any(getattr(e, "sqlstate", None) == "57014" for e in (error, error.__cause__) if e is not None)


def format_error(error: Exception, request_id: str | None = None) -> dict:
    """The client's view of an error: message, locations, path, extensions.code; no internals."""
    if not isinstance(error, GraphQLError):
        error = GraphQLError(str(error), original_error=error)
    original = error.original_error
    formatted = error.formatted
    extensions = dict(formatted.get("extensions") or {})

    if extensions.get("code"):
        pass
    elif original is None or isinstance(original, GraphQLError):
        # graphql-core's own errors (safe messages): before execution they are about the request.
        inner = (getattr(original, "extensions", None) or {}).get("code")
        extensions["code"] = inner or (RequestErrorCode.BAD_USER_INPUT if error.path is None
                                       else RequestErrorCode.INTERNAL_SERVER_ERROR).value
    elif isinstance(original, JSONWebTokenError):
        extensions["code"] = RequestErrorCode.UNAUTHENTICATED.value
    elif isinstance(original, PermissionDenied):
        extensions["code"] = Forbidden.code.value
        formatted["message"] = str(original) or Forbidden.default_message
    elif isinstance(original, (ValidationError, ObjectDoesNotExist)):
        extensions["code"] = RequestErrorCode.BAD_USER_INPUT.value
        formatted["message"] = "; ".join(getattr(original, "messages", None) or [str(original)])
    elif outages.unavailable(original):
        logger.warning("Service unavailable in GraphQL request %s at %s: %r", request_id, formatted.get("path"),
                       original)
        formatted["message"] = outages.message_for(original)
        extensions = {"code": RequestErrorCode.SERVICE_UNAVAILABLE.value}
    elif _statement_timed_out(original):
        extensions["code"] = RequestErrorCode.TIMEOUT.value
        formatted["message"] = "A database statement ran longer than its limit and was cancelled; ask for less."
    else:
        if not getattr(original, "_logged", False):  # a failed loader batch fails many fields: logged once
            logger.error(
                "Unhandled error in GraphQL request %s at %s", request_id, formatted.get("path"),
                exc_info=(type(original), original, original.__traceback__),
            )
            try:
                original._logged = True
            except AttributeError:
                pass
        formatted["message"] = "Internal server error."
        extensions = {"code": RequestErrorCode.INTERNAL_SERVER_ERROR.value}
    if extensions.get("code") == RequestErrorCode.INTERNAL_SERVER_ERROR and request_id:
        extensions["requestId"] = request_id
    formatted["extensions"] = extensions
    return formatted
