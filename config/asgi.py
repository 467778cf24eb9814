"""The ASGI application: HTTP (Django) and websockets (GraphQL subscriptions) at /graphql."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Each request runs in a thread of its own under ASGI: share database connections through a pool
# (see DB_POOL in config/settings.py).
os.environ.setdefault("DB_POOL", "1")
os.environ.setdefault("DB_SERVER_PROCESS", "1")

from config import daphne_options  # noqa: E402

daphne_options.apply()  # clean closes for oversized websocket messages and HTTP heads

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from common.deadlines import watch_disconnect  # noqa: E402
from common.observability import observe_websockets  # noqa: E402
from schema.api import schema  # noqa: E402
from schema.realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({
    # A client that disconnects stops its GraphQL operation (common/deadlines.py).
    "http": watch_disconnect(django_application),
    # graphql-transport-ws and the legacy graphql-ws subprotocol (schema/realtime, docs/realtime.md);
    # connections counted and logged (common/observability.py).
    "websocket": observe_websockets(websocket_application(schema)),
})

from config.tuning import tune_gc  # noqa: E402

tune_gc()  # the loaded application is frozen out of the collector's scans (config/tuning.py)
