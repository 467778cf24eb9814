"""Errors of the GraphQL layer.

Two kinds, as the contract says:
- `UserError` in a mutation payload's `errors`: what was wrong with the input.
  Services raise Django's ``ValidationError`` (with a field and a code),
  ``PermissionDenied`` or ``ObjectDoesNotExist``; the base mutation turns them
  into UserErrors with an ``ErrorCode``.
- Top-level GraphQL errors for problems with the request as a whole, with
  ``extensions.code`` (a :class:`RequestErrorCode`: UNAUTHENTICATED, FORBIDDEN,
  BAD_USER_INPUT, ...). Raise one of the ``ApiError`` subclasses below.
"""

from __future__ import annotations

from enum import StrEnum

import graphene
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from graphql import GraphQLError


class ErrorCode(graphene.Enum):
    """Why part of a mutation's input was refused."""

    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    DUPLICATE = "DUPLICATE"

    @property
    def description(self):
        return {
            ErrorCode.INVALID: "A value is malformed or not allowed (e.g. following yourself).",
            ErrorCode.REQUIRED: "A required value is missing or blank.",
            ErrorCode.TOO_LONG: "A value is longer than its limit.",
            ErrorCode.NOT_FOUND: "A referenced object does not exist or is not visible to the viewer.",
            ErrorCode.FORBIDDEN: "The viewer may not do this to this object (e.g. edit another's post).",
            ErrorCode.DUPLICATE: "The value must be unique and is taken (e.g. a username).",
        }[self]


class UserError(graphene.ObjectType):
    """What was wrong with one part of a mutation's input."""

    field = graphene.String(description='The input field at fault, e.g. "body"; null when no single field is.')
    message = graphene.String(required=True, description="A sentence for people.")
    code = ErrorCode(required=True, description="A code for programs.")


# Django validation codes -> ErrorCode.
_CODE_MAP = {
    "required": ErrorCode.REQUIRED,
    "blank": ErrorCode.REQUIRED,
    "null": ErrorCode.REQUIRED,
    "max_length": ErrorCode.TOO_LONG,
    "too_long": ErrorCode.TOO_LONG,
    "unique": ErrorCode.DUPLICATE,
    "duplicate": ErrorCode.DUPLICATE,
    "not_found": ErrorCode.NOT_FOUND,
    "does_not_exist": ErrorCode.NOT_FOUND,
    "forbidden": ErrorCode.FORBIDDEN,
    "permission_denied": ErrorCode.FORBIDDEN,
}


def user_error(code, message: str, field: str | None = None) -> dict:
    """One UserError of a payload (``code``: an ErrorCode member)."""
    return {"field": field, "message": message, "code": code.value}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def user_errors_from_validation(exc: ValidationError) -> list[dict]:
    """Flattens a Django ValidationError into UserError dicts (field names in camelCase)."""
    errors = []
    if hasattr(exc, "error_dict"):
        items = exc.error_dict.items()
    else:
        items = [(None, exc.error_list)]
    for field, error_list in items:
        for error in error_list:
            message = error.message % error.params if error.params else error.message
            errors.append(user_error(
                _CODE_MAP.get(error.code or "", ErrorCode.INVALID),
                str(message),
                None if field in (None, NON_FIELD_ERRORS) else _camel(field),
            ))
    return errors


class RequestErrorCode(StrEnum):
    """``extensions.code`` of a top-level error: why the request (or a field of it) failed.

    The one list of these codes: the HTTP view, the websocket subprotocols, the query limits and
    error formatting all use it (the contract's Errors section lists the same).
    """

    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # Persisted documents (schema/core/persisted.py): Apollo's APQ codes and trusted documents'.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    # A backing service (PostgreSQL, Redis) is unreachable: retry later (schema/core/outages.py).
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    # The request's deadline (GRAPHQL_EXECUTION_TIMEOUT) or PostgreSQL's statement_timeout passed.
    TIMEOUT = "TIMEOUT"
    # No page at this address (an HTTP 404 outside /graphql).
    NOT_FOUND = "NOT_FOUND"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


def request_error(code: RequestErrorCode, message: str) -> dict:
    """A top-level error as the client sees it, for errors made outside graphql-core (HTTP, websockets)."""
    return {"message": message, "extensions": {"code": code.value}}


def set_code(error: GraphQLError, code: RequestErrorCode) -> None:
    """Gives a graphql-core error its ``extensions.code`` (other extensions kept)."""
    error.extensions = {**(error.extensions or {}), "code": code.value}


class ApiError(GraphQLError):
    """A top-level GraphQL error carrying ``extensions.code``."""

    code = RequestErrorCode.INTERNAL_SERVER_ERROR
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, *, nodes=None, **extensions):
        super().__init__(message or self.default_message, nodes, extensions={"code": self.code.value, **extensions})

    def as_dict(self) -> dict:
        """The error as the client sees it, where no graphql-core formatting runs (a websocket message)."""
        return {"message": self.message, "extensions": dict(self.extensions or {})}


class Unauthenticated(ApiError):
    code = RequestErrorCode.UNAUTHENTICATED
    default_message = "You must be logged in to do this."


class Forbidden(ApiError):
    code = RequestErrorCode.FORBIDDEN
    default_message = "You may not do this."


class BadUserInput(ApiError):
    code = RequestErrorCode.BAD_USER_INPUT
    default_message = "The request's arguments are not valid."


class QueryTooComplex(ApiError):
    code = RequestErrorCode.QUERY_TOO_COMPLEX
    default_message = "The query is too complex."


class ServiceUnavailable(ApiError):
    code = RequestErrorCode.SERVICE_UNAVAILABLE
    default_message = "A service this field needs is unavailable right now; try again shortly."


class RateLimited(ApiError):
    code = RequestErrorCode.RATE_LIMITED
    default_message = "Too many requests; slow down."


class Timeout(ApiError):
    code = RequestErrorCode.TIMEOUT
    default_message = "The operation took too long and was stopped."
