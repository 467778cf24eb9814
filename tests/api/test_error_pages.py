"""D5/D6: whatever fails outside the GraphQL view gets a plain JSON error, never Django's debug pages —
under `make run` (DEBUG=1) too: DEBUG only changes development conveniences and the log, not the responses."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.test import Client

from tests.support.live_server import daphne  # noqa: F401 - fixture

LEAKS = ("Traceback", "site-packages", ".data", "settings", "urlpatterns", "DisallowedHost", "<html", "<!DOCTYPE")


def _request(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def _assert_plain(status: int, headers: dict, body: bytes, expected_status: int, code: str) -> None:
    text = body.decode(errors="replace")
    assert status == expected_status, text[:500]
    assert not any(leak.lower() in text.lower() for leak in LEAKS), text[:500]
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert [e["extensions"]["code"] for e in json.loads(text)["errors"]] == [code]


@pytest.mark.parametrize("debug", ["1", "0"])
def test_error_pages_under_daphne_never_show_debug_pages(daphne, debug):  # noqa: F811
    server = daphne(DEBUG=debug)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    ten_mb = b"a=" + b"x" * 10_000_000
    _assert_plain(*_request(f"{server.http}/graphql", headers={"Host": "evil.example"}), 400, "BAD_USER_INPUT")
    _assert_plain(*_request(f"{server.http}/nope", headers={"Host": "evil.example:80"}), 400, "BAD_USER_INPUT")
    _assert_plain(*_request(f"{server.http}/nope"), 404, "NOT_FOUND")
    _assert_plain(*_request(f"{server.http}/graphql/x/y"), 404, "NOT_FOUND")
    _assert_plain(*_request(f"{server.http}/admin/login/", ten_mb, form), 403, "FORBIDDEN")  # no CSRF cookie
    _assert_plain(*_request(f"{server.http}/healthz", ten_mb, form), 403, "FORBIDDEN")
    status, headers, body = _request(f"{server.http}/graphql", ten_mb, form)
    assert status in (413, 415) and b"Traceback" not in body and json.loads(body)["errors"]
    status, headers, body = _request(f"{server.http}/graphql", b'{"query": "' + b" " * 10_000_000 + b'{__typename}"}',
                                     {"Content-Type": "application/json"})
    _assert_plain(status, headers, body, 413, "BAD_USER_INPUT")
    assert "x-request-id" in headers
    # The details are in the log, for the developer.
    assert "Invalid HTTP_HOST header" in server.output()


def test_debug_turns_on_development_mode_not_djangos_debug():
    import os
    import subprocess
    import sys

    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.DEBUG, settings.DEVELOPMENT, bool(settings.CORS_ALLOWED_ORIGIN_REGEXES))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
                                                             "DEBUG": "1"}, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]


def test_an_exception_outside_graphql_is_a_plain_500(db, monkeypatch):
    from schema.core import views

    def broken(self, request, *args, **kwargs):
        raise RuntimeError("/work/secret/path went wrong")

    monkeypatch.setattr(views.SchemaSDLView, "get", broken)
    response = Client(raise_request_exception=False).get("/schema.graphql")
    assert response.status_code == 500
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert body["errors"][0]["extensions"]["requestId"] == response["X-Request-ID"]
    assert "secret" not in response.content.decode() and "Traceback" not in response.content.decode()


def test_a_body_over_the_upload_limit_is_a_plain_413_wherever_it_is_read(db):
    # Django's test client skips CSRF checks, so the admin's login view reads the 10 MB form (RequestDataTooBig).
    response = Client().post("/admin/login/", "a=" + "x" * 10_000_000, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413, response.content[:300]
    assert response.json()["errors"][0] == {"message": "The request body is too large.",
                                            "extensions": {"code": "BAD_USER_INPUT"}}


def test_too_many_form_fields_are_a_plain_413(db, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = Client().post("/admin/login/", "&".join(f"f{i}=1" for i in range(50)),
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
