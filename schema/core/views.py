"""The HTTP endpoint: GraphQL over HTTP at /graphql, and GraphiQL for browsers."""

from __future__ import annotations

import json
import re
import uuid

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView as BaseGraphQLView
from graphene_django.settings import graphene_settings
from graphene_django.views import HttpError
from graphql import OperationType

from .auth import authenticate
from .errors import BadUserInput, RequestErrorCode, Unauthenticated, request_error
from .execution import UNKNOWN_OPERATION, RequestError, execute, format_error, operation_type, parse_and_validate

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _error(status, message, code=RequestErrorCode.BAD_USER_INPUT, request_id=None, headers=None) -> HttpResponse:
    return _json({"errors": [request_error(code, message)]}, status, request_id, headers)


def _json(data, status=200, request_id=None, headers=None) -> HttpResponse:
    response = HttpResponse(json.dumps(data, separators=(",", ":")), status=status, content_type="application/json")
    for key, value in (headers or {}).items():
        response[key] = value
    if request_id:
        response["X-Request-ID"] = request_id
    return response


@method_decorator(csrf_exempt, name="dispatch")  # tokens travel in a header, not a cookie
class GraphQLView(BaseGraphQLView):
    """Built with the schema it serves: ``GraphQLView.as_view(schema=schema.api.schema)`` (config/urls.py)."""

    graphiql = True

    def __init__(self, *, schema, **kwargs):
        super().__init__(schema=schema, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        if not getattr(request, "request_id", None):  # set by common.request_id.RequestIDMiddleware
            supplied = request.headers.get("X-Request-ID", "")
            request.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        try:
            if request.method not in ("GET", "POST"):
                return _error(405, "GraphQL accepts GET (queries) and POST.", request_id=request.request_id,
                              headers={"Allow": "GET, POST"})
            data = self.parse_body(request)
            if self.graphiql and request.method == "GET" and self.can_display_graphiql(request, data):
                return self.render_graphiql(
                    request,
                    subscription_path=self.subscription_path,
                    graphiql_header_editor_enabled=graphene_settings.GRAPHIQL_HEADER_EDITOR_ENABLED,
                    graphiql_should_persist_headers=graphene_settings.GRAPHIQL_SHOULD_PERSIST_HEADERS,
                )
            try:
                request.user = authenticate(request.headers.get("Authorization"))
            except Unauthenticated as error:
                return _json({"errors": [format_error(error, request.request_id)]}, status=401,
                             request_id=request.request_id,
                             headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            body, status = self.get_response(request, data)
            response = HttpResponse(body, status=status, content_type="application/json")
        except HttpError as error:
            response = error.response
        except Exception as error:  # noqa: BLE001 - never a stack trace for the client
            return _json({"errors": [format_error(error, request.request_id)]}, status=500,
                         request_id=request.request_id)
        response["X-Request-ID"] = request.request_id
        return response

    def get_response(self, request, data, show_graphiql=False):
        try:
            query, variables, operation_name, _ = self.get_graphql_params(request, data)
        except HttpError as error:  # e.g. `variables` is a string that is not JSON
            message = error.response.content.decode(errors="replace") or "The request is not valid."
            raise HttpError(_error(400, message)) from None
        if not query:
            raise HttpError(_error(400, "Must provide a query string."))
        if not isinstance(query, str):
            raise HttpError(_error(400, "`query` must be a string."))
        if operation_name is not None and not isinstance(operation_name, str):
            raise HttpError(_error(400, "`operationName` must be a string."))
        if variables is not None and not isinstance(variables, dict):
            raise HttpError(_error(400, "`variables` must be an object."))
        try:
            document = parse_and_validate(self.schema, query)
        except RequestError as error:
            body = {"errors": [format_error(e, request.request_id) for e in error.errors]}
            return json.dumps(body, separators=(",", ":")), 400

        kind = operation_type(document, operation_name)
        if kind is None:
            body = {"errors": [BadUserInput(UNKNOWN_OPERATION).as_dict()]}
            return json.dumps(body), 400
        if request.method == "GET" and kind != OperationType.QUERY:
            raise HttpError(_error(405, f"Only queries may be sent with GET; send the {kind.value} with POST.",
                                   headers={"Allow": "POST"}))
        if kind == OperationType.SUBSCRIPTION:
            body = {"errors": [BadUserInput("Subscriptions run over a websocket at /graphql.").as_dict()]}
            return json.dumps(body), 400

        result = execute(self.schema, document, context=request, variables=variables, operation_name=operation_name)
        response = {}
        if result.errors:
            response["errors"] = [format_error(e, request.request_id) for e in result.errors]
        status = 200
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            status = 400  # the request could not run (e.g. bad variables)
        else:
            response["data"] = result.data
        pretty = bool(request.GET.get("pretty"))
        return json.dumps(response, indent=2 if pretty else None, separators=None if pretty else (",", ":")), status

    def parse_body(self, request):
        try:
            return super().parse_body(request)
        except RecursionError:
            raise HttpError(_error(400, "The JSON body is nested too deeply.")) from None
        except HttpError as error:
            message = error.response.content.decode(errors="replace") or "The request body is not valid."
            raise HttpError(_error(400, message)) from None
