"""Sessions, CSRF, authentication and messages run for the admin, not for the token-authenticated API
(common/browser_middleware.py)."""

from __future__ import annotations

import re

from django.test import Client

from users.models import User


def test_the_admin_logs_in_with_a_session_and_refuses_a_post_without_its_csrf_token(db):
    User.objects.create_superuser("root", "root@example.com", "pw-long-enough-1")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/")
    assert page.status_code == 200 and "csrftoken" in page.cookies
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    refused = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "root", "password": "pw-long-enough-1"})
    assert refused.status_code == 403  # CSRF's process_view ran
    logged_in = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "pw-long-enough-1",
                                                          "csrfmiddlewaretoken": token})
    assert logged_in.status_code == 302 and "sessionid" in logged_in.cookies
    assert client.get("/admin/").status_code == 200  # the session's user (AuthenticationMiddleware)
    assert client.get("/admin/users/user/").status_code == 200


def test_the_api_sets_no_cookie_and_needs_no_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    r = client.post("/graphql", '{"query": "{ __typename }"}', content_type="application/json")
    assert r.status_code == 200 and r.json() == {"data": {"__typename": "Query"}}
    assert not r.cookies and "Cookie" not in r.get("Vary", "")
