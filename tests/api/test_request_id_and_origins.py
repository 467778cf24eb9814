"""X-Request-ID on every response, one origin rule for CORS and websockets, the SDL download."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.support.http import JSON, body, fresh_apq_memory, post  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db


# --- X-Request-ID and CORS ------------------------------------------------------------------------
@pytest.mark.parametrize("path, accept", [
    ("/graphql", "text/html"),  # GraphiQL
    ("/graphql?query={__typename}", JSON),
    ("/healthz", JSON),
    ("/schema.graphql", "*/*"),
    ("/nope", "text/html"),  # 404
    ("/static/graphiql/app.js", "*/*"),
    ("/admin/login/", "text/html"),
])
def test_every_response_has_a_request_id(path, accept):
    response = Client().get(path, HTTP_ACCEPT=accept)
    assert len(response["X-Request-ID"]) == 32, (path, response.status_code)
    echoed = Client().get(path, HTTP_ACCEPT=accept, HTTP_X_REQUEST_ID="trace-123.abc")
    assert echoed["X-Request-ID"] == "trace-123.abc"
    unsafe = Client().get(path, HTTP_ACCEPT=accept, HTTP_X_REQUEST_ID="bad id\n<script>")
    assert unsafe["X-Request-ID"] != "bad id\n<script>" and len(unsafe["X-Request-ID"]) == 32


def test_the_request_id_reaches_internal_error_reports(monkeypatch):
    from schema.core import views

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "execute", boom)
    response = Client().post("/graphql", json.dumps({"query": "{ __typename }"}), content_type="application/json",
                             HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 500
    assert body(response)["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}


def test_the_log_filter_adds_the_current_request_id():
    import logging

    from common.request_id import RequestIDLogFilter, use_request_id

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with use_request_id("abc"):
        RequestIDLogFilter().filter(record)
    assert record.request_id == "abc"
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestIDLogFilter().filter(outside)
    assert outside.request_id == "-"


PREFLIGHT = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
             "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type"}


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080",
                                    "https://localhost"])
def test_development_allows_localhost_origins_over_http_and_websockets(settings, origin):
    from schema.core.origins import cross_origin_allowed

    settings.CORS_ALLOWED_ORIGINS = []
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?$"]
    response = Client().options("/graphql", HTTP_ORIGIN=origin, **PREFLIGHT)
    assert response["Access-Control-Allow-Origin"] == origin
    answered = post({"query": "{ __typename }"}, client=Client(HTTP_ORIGIN=origin))
    assert answered["Access-Control-Allow-Origin"] == origin
    assert "x-request-id" in answered["Access-Control-Expose-Headers"].lower()
    assert cross_origin_allowed(origin)
    for foreign in ("http://localhost.evil.example", "http://evil.example", "http://localhost:3000.evil.example"):
        assert not cross_origin_allowed(foreign)
        assert "Access-Control-Allow-Origin" not in Client().options("/graphql", HTTP_ORIGIN=foreign, **PREFLIGHT)


def test_production_follows_cors_allowed_origins_only(settings):
    from schema.core.origins import cross_origin_allowed

    settings.CORS_ALLOWED_ORIGIN_REGEXES = []
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    assert cross_origin_allowed("https://app.example")
    assert not cross_origin_allowed("http://localhost:3000")
    assert not cross_origin_allowed("http://app.example")


def test_debug_decides_the_localhost_rule():
    import os
    import subprocess
    import sys

    code = "from django.conf import settings; print(bool(settings.CORS_ALLOWED_ORIGIN_REGEXES))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    for debug, expected in (("1", "True"), ("0", "False")):
        out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"],
                             env={**env, "DEBUG": debug}, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


@pytest.mark.anyio
async def test_websockets_follow_the_same_origin_rule(settings, anyio_backend):
    from tests.support.websockets import Socket

    async def admitted(origin: str) -> bool:
        socket = Socket(headers=[(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")])
        connected = await socket.connect()
        await socket.disconnect()
        return connected

    settings.CORS_ALLOWED_ORIGINS = []
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?$"]
    assert await admitted("http://localhost:3000")
    assert not await admitted("https://evil.example")
    settings.CORS_ALLOWED_ORIGIN_REGEXES = []
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    assert await admitted("https://app.example")
    assert not await admitted("http://localhost:3000")
    assert await admitted("http://127.0.0.1:8000")  # this site itself
    assert not await admitted("http://127.0.0.1:3000")  # the same host on another port is another origin


def test_the_schema_downloads_as_sdl_and_matches_the_repository_file():
    from pathlib import Path

    response = Client().get("/schema.graphql")
    assert response.status_code == 200 and response["Content-Type"] == "text/plain; charset=utf-8"
    repository_file = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"
    assert response.content.decode() == repository_file.read_text()
    again = Client().get("/schema.graphql", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
