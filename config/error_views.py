"""Django's error pages, as plain JSON shaped like GraphQL errors (``handler400`` ... in config/urls.py).

Whatever fails outside the GraphQL view — a bad ``Host`` header (DisallowedHost), a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413), an address nothing serves (404), an exception a view or middleware let
through (500) — the client gets ``{"errors": [{"message", "extensions": {"code"}}]}`` and nothing else: no
traceback, setting or path, in development too (Django's own debug mode stays off: config/settings.py). The
details go to the log (Django's ``django.security.*`` and ``django.request`` loggers, the request line).
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse

from schema.core.errors import RequestErrorCode, request_error


def _error(request, status: int, code: RequestErrorCode, message: str) -> JsonResponse:
    body = {"errors": [request_error(code, message)]}
    request_id = getattr(request, "request_id", None)
    if code == RequestErrorCode.INTERNAL_SERVER_ERROR and request_id:
        body["errors"][0]["extensions"]["requestId"] = request_id
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return _error(request, 413, RequestErrorCode.BAD_USER_INPUT, "The request body is too large.")
    if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
        return _error(request, 413, RequestErrorCode.BAD_USER_INPUT, "The request has too many fields.")
    return _error(request, 400, RequestErrorCode.BAD_USER_INPUT, "Bad request.")


def permission_denied(request, exception=None):
    return _error(request, 403, RequestErrorCode.FORBIDDEN, "Forbidden.")


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: a form post without Django's CSRF token (the admin's forms; /graphql takes JSON only)."""
    return _error(request, 403, RequestErrorCode.FORBIDDEN, "Forbidden (CSRF check failed).")


def page_not_found(request, exception=None):
    return _error(request, 404, RequestErrorCode.NOT_FOUND, "Not found. The API is at /graphql.")


def server_error(request):
    return _error(request, 500, RequestErrorCode.INTERNAL_SERVER_ERROR, "Internal server error.")
