# syntax=docker/dockerfile:1
# The service's image. Default command: the HTTP tier (`python -m config.serve http`: granian's WSGI
# server, WEB_WORKERS processes, default one per core); `python -m config.serve ws` is the websocket
# tier (daphne). The same image runs the one-shot migrations, the Celery worker and beat (compose.yaml). PostgreSQL, Redis and the
# broker come from DATABASE_URL / REDIS_URL / CELERY_BROKER_URL; the embedded servers of
# `make run` are development-only (requirements-dev.txt) and are not in this image.
#
#   docker build -t social-feed .                                       (python:3.11-slim)
#   docker build --network host --build-arg BASE_IMAGE=social-local/python:bookworm -t social-feed .
#       where no registry is reachable (tools/docker/base-images.sh builds that base locally).
#
# Every compiled package in requirements.txt (and below it) has manylinux wheels for x86_64 and
# aarch64, so the same file builds on both without a compiler: pip takes wheels only, except for
# promise (pure Python, published as a source archive only). tools/docker/check-wheels.sh checks it.
ARG BASE_IMAGE=python:3.11-slim

# --- build: a virtualenv with the production requirements (pip itself removed: nothing installs
# at run time), and the collected static files -------------------------------------------------
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --use-pep517 --only-binary=:all: --no-binary=promise -r /tmp/requirements.txt \
 && /opt/venv/bin/pip uninstall --quiet --yes pip setuptools \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

WORKDIR /app
COPY . .
# collectstatic needs settings, and settings need service URLs: none is contacted here.
RUN DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 SECRET_KEY=build-only \
    /opt/venv/bin/python manage.py collectstatic --noinput --verbosity 0 \
 && /opt/venv/bin/python -m compileall -q /app /opt/venv >/dev/null

# --- runtime: the virtualenv and the code, run as an unprivileged user ------------------------
FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    RESPONSE_CACHE=1 \
    PORT=8000
RUN (getent group app || groupadd --gid 10001 app) >/dev/null \
 && useradd --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER app:app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# HTTP on every core (config/serve.py); the app logs one JSON line per request itself (no access log).
CMD ["python", "-m", "config.serve", "http"]
