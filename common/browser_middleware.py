"""Django's session, CSRF, authentication and messages middleware, for the pages that use them only.

The GraphQL endpoint authenticates each request by its bearer token (schema/core/auth.py), is exempt from
CSRF (no cookie carries a credential) and shows no messages; running those four middleware on it costs a
seventh of a cached answer's time. :class:`BrowserSessionMiddleware` stands in ``MIDDLEWARE`` where they
stood and runs them, in their order, for every path except the token-authenticated ones
(``TOKEN_ONLY_PATHS``: /graphql); the admin and anything else keep them whole.
CSRF's ``process_view`` is passed on as well (Django calls it only on middleware listed in settings).
"""

from __future__ import annotations

from django.utils.module_loading import import_string

# In the order they stood in MIDDLEWARE.
WRAPPED = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)
TOKEN_ONLY_PATHS = frozenset({"/graphql", "/graphql/"})


class BrowserSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        chain = get_response
        instances = []
        for path in reversed(WRAPPED):
            chain = import_string(path)(chain)
            instances.append(chain)
        self.with_sessions = chain
        self.csrf = next(m for m in instances if hasattr(m, "process_view"))

    def __call__(self, request):
        if request.path_info in TOKEN_ONLY_PATHS:
            return self.get_response(request)
        return self.with_sessions(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info in TOKEN_ONLY_PATHS:
            return None
        return self.csrf.process_view(request, view_func, view_args, view_kwargs)
