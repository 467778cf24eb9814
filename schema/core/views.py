"""The HTTP endpoint: GraphQL over HTTP at /graphql (the spec in full), GraphiQL for browsers.

Status codes and media types (what a client does with each: the README, "Using the API from a client"):

- ``Accept`` decides the response's media type: ``application/graphql-response+json`` when the client
  accepts it (at least as much as ``application/json``), ``application/json`` otherwise (also for a
  missing ``Accept`` or ``*/*``); neither acceptable: 406.
- A request that is not well-formed (a body that is not JSON, ``query``/``variables``/``operationName``/
  ``extensions`` of the wrong type, no query): 400, whatever the media type.
- A well-formed request that cannot run (a parse, validation or variable coercion error, an unknown
  operation, a persisted document that is not found or not allowed, a subscription over HTTP):
  400 with ``application/graphql-response+json`` (no ``data`` entry), 200 with ``application/json``.
- A mutation over GET: 405 (``Allow: POST``). A bad ``Authorization`` header: 401 with
  ``WWW-Authenticate`` — except for documents that need no viewer (only tokenAuth, register,
  refreshToken, verifyToken, revokeToken, or only introspection): those ignore the header, so a stale
  token never blocks logging in again or loading the schema.
- A JSON array is a batch (Apollo's BatchHttpLink): each operation runs as if sent alone (the token is
  checked once), results in order, 200; at most ``GRAPHQL_BATCH_MAX_OPERATIONS`` (10) operations.
- Limits (README "Limits and rate limits"): a document over the node limit is QUERY_TOO_COMPLEX before any
  SQL; an operation over the caller's point budget, or a caller with too many requests running, gets 429
  with ``Retry-After`` and RATE_LIMITED. Every response carries ``X-RateLimit-Limit``, ``-Remaining``,
  ``-Used`` and ``-Reset`` (schema/core/budget.py).
- Anonymous GET queries that succeed are cacheable by URL (``Cache-Control: public, max-age=…``,
  ``GRAPHQL_GET_MAX_AGE``) and carry an ``ETag`` (of the body): ``If-None-Match`` with it gets 304
  (still charged to the budget); everything else is ``no-store``.
- With ``RESPONSE_CACHE`` on, answers that do not depend on the viewer are served from the response
  cache (schema/core/response_cache.py) after the budget is charged, instead of running again.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView as BaseGraphQLView
from graphql import OperationType, get_operation_ast, print_schema

from common.fastjson import compact_json
from common.request_id import accept_request_id

from common import ratelimit, response_cache_bus
from common.metrics import count_rate_limit_refusal
from common.observability import route_of

from . import budget, cache_lane, outages, persisted, response_cache
from .auth import authenticate
from .cost import operation_cost
from .credentials import MAX_CREDENTIAL_FIELDS, credential_fields, too_many_message
from .errors import QueryTooComplex, RequestErrorCode, Unauthenticated, request_error
from .execution import (UNKNOWN_OPERATION, RequestError, execute, format_error, graphql_schema,
                        parse_and_validate, root_field_names)
from .loaders import Loader

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

# Documents whose root fields are only these run without a viewer: the Authorization header is ignored.
TOKEN_FIELDS = frozenset({"tokenAuth", "register", "refreshToken", "verifyToken", "revokeToken", "__typename"})
INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when neither JSON type is acceptable."""
    if not accept or not accept.strip():
        return JSON  # the spec: a missing Accept header means application/json
    best, best_q = None, 0.0
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        if media == GRAPHQL_RESPONSE_JSON:
            candidate = GRAPHQL_RESPONSE_JSON
        elif media in (JSON, "application/*", "*/*"):
            candidate = JSON
        else:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if q > best_q or (q == best_q and candidate == GRAPHQL_RESPONSE_JSON):
            best, best_q = candidate, q
    return best


class Outcome:
    """One operation's answer: its body and status. ``request_error``: 400 or 200 by media type."""

    def __init__(self, body: dict | None, status: int = 200, *, request_error: bool = False, headers=None,
                 cacheable: bool = False, text: str | None = None, etag: str | None = None):
        self._body = body
        self.status = status
        self.request_error = request_error
        self.headers = dict(headers or {})
        self.cacheable = cacheable
        self.text = text  # the body as compact JSON, when known (an answer of the response cache)
        self.etag = etag  # the ETag of ``text``
        self.cacheable_answer = False  # an answer the response cache may keep (ran, no errors)

    @property
    def body(self) -> dict:
        if self._body is None:
            self._body = json.loads(self.text)
        return self._body

    def status_for(self, media: str) -> int:
        if self.request_error:
            return 400 if media == GRAPHQL_RESPONSE_JSON else 200
        return self.status


class Refusal(Exception):
    """The whole HTTP request is refused (not well-formed, not acceptable, too large...)."""

    def __init__(self, status: int, message: str, code: RequestErrorCode = RequestErrorCode.BAD_USER_INPUT,
                 headers=None):
        super().__init__(message)
        self.outcome = Outcome({"errors": [request_error(code, message)]}, status, headers=headers)


def _failure(message: str, code: RequestErrorCode, *, status: int | None = None, is_request_error: bool = False,
             headers=None):
    body = {"errors": [request_error(code, message)]}
    return Outcome(body, status or 400, request_error=is_request_error, headers=headers)


class Viewer:
    """The request's user, from its Authorization header: checked once, on first need."""

    def __init__(self, header: str | None):
        self.header = header
        self._checked = False
        self._user = None
        self._error: Unauthenticated | None = None

    def user(self):
        if not self._checked:
            self._checked = True
            try:
                self._user = authenticate(self.header)
            except Unauthenticated as error:
                self._error = error
        if self._error is not None:
            raise self._error
        return self._user


def _retry_after(errors) -> dict:
    """``Retry-After`` for a field refused with RATE_LIMITED and a ``retryAfter`` hint (a throttled login)."""
    waits = [e["extensions"]["retryAfter"] for e in errors or ()
             if e.get("extensions", {}).get("code") == RequestErrorCode.RATE_LIMITED
             and isinstance(e["extensions"].get("retryAfter"), int)]
    return {"Retry-After": str(max(waits))} if waits else {}


def needs_no_viewer(document, operation) -> bool:
    """Token mutations only, or introspection only: answered anonymously, whatever the header says."""
    names = root_field_names(document, operation)
    if not names:
        return False
    if operation.operation == OperationType.MUTATION:
        return names <= TOKEN_FIELDS
    if operation.operation == OperationType.QUERY:
        return names <= INTROSPECTION_FIELDS
    return False


def _json_param(value, name: str):
    """GET parameters carry variables and extensions as JSON text."""
    if value is None or value == "":
        return None
    try:
        return json.loads(value)
    except RecursionError:
        raise Refusal(400, f"`{name}` is nested too deeply.") from None
    except ValueError:
        raise Refusal(400, f"`{name}` must be a JSON object.") from None


def _outcome_of_exception(error: Exception, request_id: str) -> Outcome:
    """An exception no operation handled: 503 with Retry-After when a backing service is down, else 500."""
    status, headers = (503, outages.retry_after()) if outages.unavailable(error) else (500, None)
    return Outcome({"errors": [format_error(error, request_id)]}, status, headers=headers)


@method_decorator(csrf_exempt, name="dispatch")  # tokens travel in a header, not a cookie
class GraphQLView(BaseGraphQLView):
    """Built with the schema it serves: ``GraphQLView.as_view(schema=schema.api.schema)`` (config/urls.py)."""

    graphiql = True

    def __init__(self, *, schema, **kwargs):
        super().__init__(schema=schema, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return self._dispatch(request)
        finally:
            Loader.release_all(request)  # no cycle left for the garbage collector (schema/core/loaders.py)

    def _dispatch(self, request):
        if not getattr(request, "request_id", None):  # set by common.request_id.RequestIDMiddleware
            request.request_id = accept_request_id(request.headers.get("X-Request-ID"))
        if (self.graphiql and request.method == "GET" and "raw" not in request.GET
                and self.request_wants_html(request)):
            return self.render_graphiql(
                request,
                subscription_path=self.subscription_path,
                graphiql_header_editor_enabled=graphene_settings.GRAPHIQL_HEADER_EDITOR_ENABLED,
                graphiql_should_persist_headers=graphene_settings.GRAPHIQL_SHOULD_PERSIST_HEADERS,
            )
        media = negotiate(request.headers.get("Accept"))
        try:
            if media is None:
                raise Refusal(406, f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}.")
            if request.method not in ("GET", "POST"):
                raise Refusal(405, "GraphQL accepts GET (queries) and POST.", headers={"Allow": "GET, POST"})
            body = self._read(request)
            viewer = request.graphql_viewer = Viewer(request.headers.get("Authorization"))
            if isinstance(body, list):
                return self._respond(request, media, *self._batch(request, body, viewer))
            outcome = self._operation(request, body, viewer)
        except Refusal as refusal:
            outcome = refusal.outcome
        except Exception as error:  # noqa: BLE001 - never a stack trace for the client
            outcome = _outcome_of_exception(error, request.request_id)
        return self._respond(request, media or JSON, None, outcome.status_for(media or JSON),
                             outcome.headers, outcome.cacheable, outcome=outcome)

    # --- reading the request ---------------------------------------------------------------
    def _read(self, request):
        if request.method == "GET":
            params = request.GET
            return {
                "query": params.get("query"),
                "operationName": params.get("operationName") or None,
                "variables": _json_param(params.get("variables"), "variables"),
                "extensions": _json_param(params.get("extensions"), "extensions"),
                "documentId": params.get("documentId"),
            }
        if request.content_type != JSON:
            raise Refusal(415, "POST a JSON body with Content-Type: application/json.")
        charset = (request.content_params or {}).get("charset")
        if charset and charset.strip().lower() not in ("utf-8", "utf8"):
            raise Refusal(415, "The body must be UTF-8.")
        try:
            raw = request.body
        except RequestDataTooBig:
            raise Refusal(413, "The request body is too large.") from None
        if not raw.strip():
            raise Refusal(400, "The request body is empty; send a JSON object with `query`.")
        try:
            body = json.loads(raw.decode("utf-8"))
        except RecursionError:
            raise Refusal(400, "The JSON body is nested too deeply.") from None
        except (UnicodeDecodeError, ValueError):
            raise Refusal(400, "The request body is not valid JSON.") from None
        if not isinstance(body, (dict, list)):
            raise Refusal(400, "The body must be a JSON object (one operation) or an array of them (a batch).")
        return body

    # --- running ------------------------------------------------------------------------------
    def _batch(self, request, operations: list, viewer: Viewer):
        limit = int(getattr(settings, "GRAPHQL_BATCH_MAX_OPERATIONS", 10))
        if not operations:
            raise Refusal(400, "A batch must hold at least one operation.")
        if len(operations) > limit:
            raise Refusal(400, f"A batch may hold at most {limit} operations; this one has {len(operations)}.")
        credentials = sum(self._credential_fields(params) for params in operations)
        if credentials > MAX_CREDENTIAL_FIELDS:
            raise Refusal(400, too_many_message(credentials), RequestErrorCode.QUERY_TOO_COMPLEX)
        results, headers, unavailable = [], {}, False
        for params in operations:
            try:
                outcome = self._operation(request, params, viewer, in_batch=True)
            except Refusal as refusal:
                outcome = refusal.outcome
            except Exception as error:  # noqa: BLE001 - one operation's failure is its own
                outcome = _outcome_of_exception(error, request.request_id)
            results.append(outcome.body)
            for name in ("WWW-Authenticate", "Retry-After"):
                if name in outcome.headers:
                    headers[name] = outcome.headers[name]
            if outcome.status == 503:
                unavailable = True
                headers.update(outages.retry_after())
        # A database outage in any operation: 503 (retry all); every operation over budget: 429.
        limited = all(outcome_codes(body) == [RequestErrorCode.RATE_LIMITED] for body in results)
        return results, 503 if unavailable else 429 if limited else 200, headers, False

    def _credential_fields(self, params) -> int:
        """tokenAuth / register / refreshToken in one operation of a batch (0 if it cannot run anyway)."""
        if not isinstance(params, dict) or not isinstance(params.get("query"), (str, type(None))):
            return 0
        extensions = params.get("extensions")
        try:
            resolved = persisted.resolve(params.get("query"), extensions if isinstance(extensions, dict) else None,
                                         params.get("documentId"))
            return credential_fields(parse_and_validate(self.schema, resolved.text))
        except Exception:  # noqa: BLE001 - the operation itself reports what is wrong with it
            return 0

    def _operation(self, request, params, viewer: Viewer, in_batch: bool = False) -> Outcome:
        if not isinstance(params, dict):
            raise Refusal(400, "Each operation of a batch must be a JSON object.")
        query = params.get("query")
        operation_name = params.get("operationName")
        variables = params.get("variables")
        extensions = params.get("extensions")
        if query is not None and not isinstance(query, str):
            raise Refusal(400, "`query` must be a string.")
        if operation_name is not None and not isinstance(operation_name, str):
            raise Refusal(400, "`operationName` must be a string.")
        if variables is not None and not isinstance(variables, dict):
            raise Refusal(400, "`variables` must be an object.")
        if extensions is not None and not isinstance(extensions, dict):
            raise Refusal(400, "`extensions` must be an object.")
        try:
            resolved = persisted.resolve(query, extensions, params.get("documentId"))
        except persisted.DocumentError as error:
            if error.code == RequestErrorCode.BAD_USER_INPUT:
                raise Refusal(400, error.message) from None
            return _failure(error.message, error.code, is_request_error=True)
        try:
            document = parse_and_validate(self.schema, resolved.text)
        except RequestError as error:
            return Outcome({"errors": [format_error(e, request.request_id) for e in error.errors]},
                           request_error=True)
        persisted.register(resolved)

        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return _failure(UNKNOWN_OPERATION, RequestErrorCode.BAD_USER_INPUT, is_request_error=True)
        kind = operation.operation
        if request.method == "GET" and kind != OperationType.QUERY:
            return _failure(f"Only queries may be sent with GET; send the {kind.value} with POST.",
                            RequestErrorCode.BAD_USER_INPUT, status=405, headers={"Allow": "POST"})
        if kind == OperationType.SUBSCRIPTION:
            return _failure("Subscriptions run over a websocket at /graphql (graphql-transport-ws).",
                            RequestErrorCode.BAD_USER_INPUT, is_request_error=True)

        no_viewer = needs_no_viewer(document, operation)
        if no_viewer:
            user = AnonymousUser()
        else:
            try:
                user = viewer.user()
            except Unauthenticated as error:
                return Outcome({"errors": [format_error(error, request.request_id)]}, 401,
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        request.user = user
        Loader.release_all(request)  # each operation of a batch has its own loaders
        try:  # the cost before any SQL: over the node limit, or over the caller's budget, it does not run
            cost = operation_cost(graphql_schema(self.schema), document, operation, variables)
        except QueryTooComplex as error:
            return Outcome({"errors": [format_error(error, request.request_id)]}, request_error=True)
        # An operation the response cache may answer charges and reads the content generation its answer from
        # memory must match; any other runs if it may: its concurrency slot is taken with the charge.
        cap = int(getattr(settings, "GRAPHQL_MAX_CONCURRENT_REQUESTS", 8))
        who = budget.caller_of(request)
        viewer_class = (response_cache.viewer_class(request, document, operation, no_viewer=no_viewer,
                                                    in_batch=in_batch) if response_cache.enabled() else None)
        caching = viewer_class is not None
        slot = (CONCURRENT_SLOTS, cap) if cap > 0 and not caching and who == request_caller(request) else None
        request.slot_token = None
        generation_key = response_cache_bus.generation_key() if caching else None
        prepaid = None if in_batch else request.META.pop(cache_lane.PREPAID, None)
        if prepaid is not None and prepaid.cost == cost.points and slot is None:
            charged = request.rate_limit = prepaid  # charged by the cache lane, which could not answer
        else:
            charged = budget.charge(request, cost.points, who=who, slot=slot, read=generation_key)
        if not charged.allowed:
            return Outcome({"errors": [format_error(budget.rate_limited(charged), request.request_id)]}, 429,
                           headers={"Retry-After": str(charged.retry_after)})
        cached = None
        if response_cache.enabled():
            if viewer_class is None:
                response_cache.noted("bypass")
            else:
                key = response_cache.key_of(printed_schema(self.schema)[1], resolved.text, operation_name,
                                            variables, viewer_class)
                cached = response_cache.lookup(key, generation=charged.read)
                if persisted.reference(extensions, params.get("documentId")) is None and request.method == "POST":
                    # The body alone decides this answer: the cache lane may answer its repeats.
                    request.META[cache_lane.LEARN] = (key, cost.points, operation.name.value if operation.name else None,
                                                      route_of(request))
                if cached.entry is not None:
                    response_cache.served(cached, operation)
                    return Outcome(None, 200, cacheable=self._cacheable(request, in_batch), text=cached.entry.text,
                                   etag=cached.entry.etag)
        try:
            # Only running takes one of the caller's concurrency slots (an answer from the cache takes none).
            with concurrency_slot(request, viewer):
                outcome = self._run(request, document, operation_name, variables, in_batch)
            if cached is not None:
                entry = None
                if cached.outcome == "miss" and outcome.status == 200 and outcome.cacheable_answer:
                    entry = response_cache.store(cached, outcome.body)
                if entry is None:
                    request.META.pop(cache_lane.LEARN, None)  # not kept: nothing for the lane to repeat
                response_cache.noted(cached.outcome)
                if entry is not None:
                    outcome.text, outcome.etag = entry.text, entry.etag
            return outcome
        finally:
            if cached is not None:
                response_cache.finish(cached)

    def _cacheable(self, request, in_batch: bool) -> bool:
        """Whether a successful answer may be kept by browsers and CDNs (Cache-Control: public)."""
        return not in_batch and request.method == "GET" and not request.headers.get("Authorization")

    def _run(self, request, document, operation_name, variables, in_batch: bool) -> Outcome:
        result = execute(self.schema, document, context=request, variables=variables, operation_name=operation_name)
        body = {}
        if result.errors:
            body["errors"] = [format_error(e, request.request_id) for e in result.errors]
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            return Outcome(body, request_error=True)  # the operation could not run (e.g. bad variables)
        body["data"] = result.data
        if result.errors and any(outages.database_down(e.original_error) for e in result.errors):
            return Outcome(body, 503, headers=outages.retry_after())  # PostgreSQL is down: retry later
        outcome = Outcome(body, 200, cacheable=not result.errors and self._cacheable(request, in_batch),
                          headers=_retry_after(body.get("errors")))
        outcome.cacheable_answer = not result.errors and result.data is not None
        return outcome

    # --- writing the response -----------------------------------------------------------------
    def _respond(self, request, media, body, status, headers=None, cacheable=False, *, outcome=None) -> HttpResponse:
        pretty = bool(request.GET.get("pretty"))
        etag = None
        if outcome is not None and outcome.text is not None and not pretty:
            text, etag = outcome.text, outcome.etag
        else:
            if outcome is not None:
                body = outcome.body
            text = json.dumps(body, indent=2) if pretty else compact_json(body)
        max_age = int(getattr(settings, "GRAPHQL_GET_MAX_AGE", 10))
        cacheable = cacheable and status == 200
        if cacheable:
            etag = etag or response_cache.etag_of(text)
        if cacheable and etag_matches(request, etag):
            response = HttpResponseNotModified()
        else:
            response = HttpResponse(text, status=status, content_type=media)
        for key, value in (headers or {}).items():
            response[key] = value
        if cacheable:
            response["ETag"] = f'"{etag}"'
        if cacheable and max_age > 0:
            response["Cache-Control"] = f"public, max-age={max_age}"
        else:
            response["Cache-Control"] = "no-store"
        patch_vary_headers(response, ("Accept", "Authorization"))
        response["X-Request-ID"] = request.request_id
        for key, value in budget.headers(request_budget(request)).items():
            response[key] = value
        return response


def outcome_codes(body: dict) -> list:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


def request_caller(request) -> str:
    """Whose budget a request spends: its user when its token is valid, else its client address."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        viewer = getattr(request, "graphql_viewer", None)
        try:
            user = viewer.user() if viewer is not None else None
        except Unauthenticated:
            user = None
    return budget.caller_of(request, user)


def request_budget(request) -> ratelimit.Budget:
    """The budget after the request's last charge; read (not charged) when nothing was charged."""
    return getattr(request, "rate_limit", None) or budget.peek(request_caller(request))


class concurrency_slot:
    """At most GRAPHQL_MAX_CONCURRENT_REQUESTS operations of one caller running at once, across processes
    (common.ratelimit.acquire); one more is refused with 429 and RATE_LIMITED. Held while an operation
    executes (parsing, validation and the cost are bounded and cached; a cached answer runs nothing)."""

    def __init__(self, request, viewer: Viewer):
        self.request = request
        self.who = None
        self.token = None

    def __enter__(self):
        cap = int(getattr(settings, "GRAPHQL_MAX_CONCURRENT_REQUESTS", 8))
        if cap <= 0:
            return self
        taken = getattr(self.request, "slot_token", None)  # taken with the budget's charge (budget.charge)
        if taken is not None:
            self.request.slot_token = None
            self.who, self.token = taken
        else:
            self.who = request_caller(self.request)
            self.token = ratelimit.acquire(CONCURRENT_SLOTS, self.who, cap)
        if self.token is None:
            count_rate_limit_refusal("concurrent")
            raise Refusal(429, f"Too many requests at once (at most {cap}); wait for one to finish.",
                          RequestErrorCode.RATE_LIMITED, headers={"Retry-After": "1"})
        return self

    def __exit__(self, *exc):
        if self.token is not None:
            ratelimit.release(CONCURRENT_SLOTS, self.who, self.token)
        return False


CONCURRENT_SLOTS = "concurrent"


# --- /schema.graphql: the served schema as SDL ----------------------------------------------------------
@lru_cache(maxsize=4)
def printed_schema(schema) -> tuple[str, str]:
    """The SDL of ``schema`` and its ETag: what `manage.py print_schema` writes to schema/schema.graphql."""
    text = print_schema(graphql_schema(schema)) + "\n"
    return text, hashlib.sha256(text.encode()).hexdigest()[:32]


class SchemaSDLView(View):
    """``SchemaSDLView.as_view(schema=schema.api.schema)`` (config/urls.py)."""

    schema = None
    http_method_names = ["get", "head"]

    def get(self, request, *args, **kwargs):
        text, etag = printed_schema(self.schema)
        if etag_matches(request, etag):
            return HttpResponseNotModified(headers={"ETag": f'"{etag}"'})
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="schema.graphql"'
        response["Cache-Control"] = "public, max-age=300"
        response["ETag"] = f'"{etag}"'
        return response


def etag_matches(request, etag: str) -> bool:
    supplied = request.headers.get("If-None-Match", "")
    return any(tag.strip().removeprefix("W/") in (f'"{etag}"', "*") for tag in supplied.split(","))


# --- /docs/: the API reference generated from the schema (tools/apidocs, `make docs`) -----------------
REFERENCE = Path(__file__).resolve().parent.parent / "static" / "docs" / "index.html"


@lru_cache(maxsize=1)
def _reference() -> tuple[bytes, str]:
    content = REFERENCE.read_bytes()
    return content, hashlib.sha256(content).hexdigest()[:32]


class APIReferenceView(View):
    """The SpectaQL page committed under schema/static/docs (one self-contained HTML file)."""

    http_method_names = ["get", "head"]

    def get(self, request, *args, **kwargs):
        content, etag = _reference()
        if etag_matches(request, etag):
            return HttpResponseNotModified(headers={"ETag": f'"{etag}"'})
        response = HttpResponse(content, content_type="text/html; charset=utf-8")
        response["Cache-Control"] = "public, max-age=300"
        response["ETag"] = f'"{etag}"'
        return response
