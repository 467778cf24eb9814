"""The WSGI application: HTTP only (GraphQL, GraphiQL, health, metrics, static files), no websockets.

Production serves HTTP with it (config/serve.py: granian, one process per core): a synchronous server
runs Django's middleware and the GraphQL view in the request's own thread, with no ``sync_to_async`` hop
per middleware as under ASGI, and a persistent PostgreSQL connection per thread (no pool needed).
Websockets stay on daphne (config/asgi.py). What differs from ASGI: a client that disconnects does not
stop its operation early (the deadline, GRAPHQL_EXECUTION_TIMEOUT, and statement_timeout still bound it).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A server process: PostgreSQL's statement_timeout matches the GraphQL deadline (config/settings.py).
os.environ.setdefault("DB_SERVER_PROCESS", "1")

from django.core.wsgi import get_wsgi_application  # noqa: E402

django_application = get_wsgi_application()

import schema.api  # noqa: E402,F401 - the schema is built before the first request (and frozen below)
from schema.core.cache_lane import CacheLane  # noqa: E402

# Repeats of requests the response cache answered are answered in front of Django (schema/core/cache_lane.py).
application = CacheLane(django_application)
from config.tuning import tune_gc  # noqa: E402

tune_gc()
