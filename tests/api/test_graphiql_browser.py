"""GraphiQL in a real browser: Debian's chromium, headless, driven by Playwright, against a live daphne.

It opens /graphql, pastes a token into the header editor, runs a query and sees the result, then
starts a subscription (graphql-transport-ws, the token in connection_init) and sees the event that
a mutation triggers. The page must not ask any other host for anything (offline assets).

Needs /usr/bin/chromium and the playwright package: .ci/extra-setup installs both.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
import shutil
import tempfile
import time
from urllib.parse import urlparse

import pytest
from django.db import connection
from graphql_jwt.shortcuts import get_token

from common import events
from schema.core.node import global_id
from tests.conftest import PASSWORD, GraphQLClient, make_user
from tests.support.live_server import daphne, wait_for_listeners_sync  # noqa: F401 - the fixture

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-browser.txt")
pytestmark = [
    pytest.mark.browser, pytest.mark.live, pytest.mark.slow, pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"),
]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESULT = ".result-window .CodeMirror"


@contextmanager
def chromium_page():
    """A page of a fresh headless chromium (its own new profile)."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with playwright_api.sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS)
            try:
                yield context.new_page()
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def in_thread(fn, *args, **kwargs):
    """ORM work while Playwright's event loop runs in this thread must happen in another one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_closing(fn), *args, **kwargs).result(30)


def _closing(fn):
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return run


def set_editor(page, selector, text):
    page.evaluate("([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)",
                  [selector, text])


def run(page, query, operation_name):
    """Puts ``query`` in the editor and runs it once GraphiQL has parsed it (the tab takes its name)."""
    set_editor(page, QUERY_EDITOR, query)
    page.wait_for_selector(f".graphiql-tab-button:text-is('{operation_name}')", timeout=10000)
    page.click(".graphiql-execute-button")


def editor_text(page, selector):
    return page.evaluate("(selector) => document.querySelector(selector).CodeMirror.getValue()", selector)


def wait_for_result(page, predicate, timeout=15):
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = editor_text(page, RESULT)
        if text.strip():
            try:
                if predicate(json.loads(text)):
                    return json.loads(text)
            except ValueError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"GraphiQL never showed the expected result; it shows:\n{text}")


def test_graphiql_runs_a_query_and_a_subscription(daphne):  # noqa: F811
    server = daphne()
    alice, bob = make_user("alice"), make_user("bob")
    token = get_token(alice)
    with chromium_page() as page:
        foreign = []
        page.on("request", lambda request: foreign.append(request.url)
                if urlparse(request.url).netloc not in ("", f"127.0.0.1:{server.port}") else None)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        page.goto(f"{server.http}/graphql")
        page.wait_for_selector(QUERY_EDITOR, timeout=20000)
        # The first tab holds the guided example.
        assert editor_text(page, QUERY_EDITOR).startswith("# Welcome")

        # The token goes in the header editor; queries carry it over HTTP.
        set_editor(page, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {token}"}))
        run(page, "query Me { viewer { username } }", "Me")
        assert wait_for_result(page, lambda r: r.get("data", {}).get("viewer")) == {
            "data": {"viewer": {"username": "alice"}}}

        # A subscription over graphql-transport-ws, authenticated by the same header (connection_init).
        run(page, "subscription Mine { notificationReceived { kind actor { username } } }", "Mine")
        wait_for_listeners_sync(events.notifications_group(alice.pk))
        response = in_thread(GraphQLClient(), "mutation F($id: ID!) { followUser(input: {userId: $id}) "
                                              "{ errors { code } } }", {"id": global_id("User", alice.pk)}, user=bob)
        assert response.data["followUser"]["errors"] == []
        result = wait_for_result(page, lambda r: r.get("data", {}).get("notificationReceived"))
        assert result == {"data": {"notificationReceived": {"kind": "FOLLOW", "actor": {"username": "bob"}}}}

        assert foreign == [], f"the page asked other hosts: {foreign}"
        assert errors == []


# --- the login panel (schema/static/graphiql/login.js) ---------------------------------------------
STORED_LOGIN = "() => JSON.parse(localStorage.getItem('social-feed:graphiql-login') || 'null')"
# What another tab of the page would do: store a login whose access token the server refuses (a broken
# signature) and whose refresh token still works; the page hears it through a storage event.
FORGE_STORED_TOKEN = """() => {
  const key = 'social-feed:graphiql-login';
  const login = JSON.parse(localStorage.getItem(key));
  login.token = login.token.slice(0, -4) + (login.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  localStorage.setItem(key, JSON.stringify(login));
  window.dispatchEvent(new StorageEvent('storage', {key}));
}"""


def watch_graphql(page, server):
    """Every /graphql response: its status, operation name and the Authorization header it was sent with."""
    seen = []

    def on_response(response):
        request = response.request
        if urlparse(request.url).path != "/graphql" or request.method != "POST":
            return
        try:
            operation = json.loads(request.post_data or "{}").get("operationName")
        except ValueError:
            operation = None
        seen.append({"status": response.status, "operation": operation,
                     "authorization": request.header_value("authorization")})

    page.on("response", on_response)
    return seen


def wait_for_responses(page, seen, count, timeout=10, until=None):
    """Waits until ``seen`` holds ``count`` responses, and one ``until(response)`` accepts if given
    (Playwright's response events arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while (len(seen) < count or (until is not None and not any(until(s) for s in seen))) \
            and time.monotonic() < deadline:
        page.wait_for_timeout(50)


def log_in(page, username):
    if not page.query_selector(".login-panel"):
        page.click("button[aria-label='Show Login']")
    page.fill(".login-panel input[name=username]", username)
    page.fill(".login-panel input[name=password]", PASSWORD)
    page.click(".login-panel button[type=submit]")
    page.wait_for_selector(f".login-panel-status:has-text('{username}')", timeout=10000)


def open_graphiql(page, server):
    page.goto(f"{server.http}/graphql")
    page.wait_for_selector(QUERY_EDITOR, timeout=20000)


def test_graphiql_login_panel_keeps_a_session_past_token_expiry(daphne):  # noqa: F811
    """Log in through the panel, run a query, let the (3-second) access token expire, run another:
    the panel refreshed the token, nobody touched the Headers pane, nothing failed."""
    server = daphne(JWT_ACCESS_SECONDS="3")
    make_user("alice")
    with chromium_page() as page:
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        seen = watch_graphql(page, server)
        open_graphiql(page, server)
        log_in(page, "alice")
        headers_before = editor_text(page, HEADERS_EDITOR)

        run(page, "query Me { viewer { username } }", "Me")
        assert wait_for_result(page, lambda r: r.get("data", {}).get("viewer")) == {
            "data": {"viewer": {"username": "alice"}}}
        first_token = page.evaluate(STORED_LOGIN)["token"]

        page.wait_for_timeout(4500)  # the first access token has expired by now
        run(page, "query Again { viewer { username displayName } }", "Again")
        assert wait_for_result(page, lambda r: (r.get("data") or {}).get("viewer", {}).get("displayName")) == {
            "data": {"viewer": {"username": "alice", "displayName": "Alice"}}}

        stored = page.evaluate(STORED_LOGIN)
        assert stored["token"] != first_token and stored["username"] == "alice"
        assert editor_text(page, HEADERS_EDITOR) == headers_before, "the Headers pane was left alone"
        operations = [s["operation"] for s in seen]
        assert "GraphiQLLogin" in operations and "GraphiQLRefresh" in operations, seen
        assert all(s["status"] == 200 for s in seen), seen
        # The panel's own requests and the schema fetch carry no Authorization header; queries carry
        # the panel's current token.
        for s in seen:
            if s["operation"] in ("GraphiQLLogin", "GraphiQLRefresh", "IntrospectionQuery"):
                assert s["authorization"] is None, s
        again = [s["authorization"] for s in seen if s["operation"] == "Again"]
        assert len(again) == 1 and again[0].startswith("Bearer ") and again[0] != f"Bearer {first_token}", seen
        assert errors == []


def test_graphiql_login_panel_recovers_from_a_401_and_the_docs_ignore_a_stale_header(daphne):  # noqa: F811
    from users import sessions
    from users.models import RefreshToken, User

    server = daphne()
    alice = make_user("alice")
    with chromium_page() as page:
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        seen = watch_graphql(page, server)
        open_graphiql(page, server)
        log_in(page, "alice")
        run(page, "query Me { viewer { username } }", "Me")
        wait_for_result(page, lambda r: r.get("data", {}).get("viewer"))

        # Another tab leaves an access token the server refuses (its signature is wrong) beside a refresh
        # token that still works: the query's 401 is answered by a refresh and the query sent again.
        page.evaluate(FORGE_STORED_TOKEN)
        in_thread(lambda: User.objects.filter(pk=alice.pk).update(username="alice2"))
        del seen[:]
        run(page, "query Who { viewer { username displayName } }", "Who")
        assert wait_for_result(page, lambda r: (r.get("data") or {}).get("viewer", {}).get("displayName")) == {
            "data": {"viewer": {"username": "alice2", "displayName": "Alice"}}}
        wait_for_responses(page, seen, 3)  # the page may show the result before the last response event
        assert [(s["operation"], s["status"]) for s in seen] == [("Who", 401), ("GraphiQLRefresh", 200), ("Who", 200)]
        page.wait_for_selector(".login-panel-status:has-text('alice2')")

        # A stale header in the Headers pane never breaks the schema fetch (Docs, Explorer).
        set_editor(page, HEADERS_EDITOR, json.dumps({"Authorization": "Bearer not-a-token"}))
        del seen[:]
        page.click("button[aria-label='Re-fetch GraphQL schema']")
        page.wait_for_function("() => !document.querySelector('.graphiql-spin')")
        deadline = time.monotonic() + 10
        while not any(s["operation"] == "IntrospectionQuery" for s in seen) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        introspection = [s for s in seen if s["operation"] == "IntrospectionQuery"]
        assert introspection and all(s["status"] == 200 and s["authorization"] is None for s in introspection), seen

        # The session ends (refresh tokens revoked, the access token refused): the panel clears it,
        # the query goes again without it, and the panel asks to log in again.
        in_thread(lambda: [sessions.session_end(session, alice.pk) for session in set(
            RefreshToken.objects.filter(user_id=alice.pk).values_list("session", flat=True))])
        del seen[:]
        run(page, "query Anyone { viewer { id } }", "Anyone")
        assert wait_for_result(page, lambda r: "viewer" in (r.get("data") or {})) == {"data": {"viewer": None}}
        # The 401, the panel's refresh (refused: the session ended), then the retry without the header; the
        # events come late, and the refresh's may come before the retry's.
        wait_for_responses(page, seen, 2, until=lambda s: s["operation"] == "Anyone" and s["authorization"] is None)
        assert [(s["operation"], s["status"], s["authorization"]) for s in seen][-1] == ("Anyone", 200, None)
        page.wait_for_selector(".login-panel-notice:has-text('session ended')")
        page.wait_for_selector(".login-panel input[name=username]")
        assert page.evaluate(STORED_LOGIN) is None

        # Logged out, the Headers pane's header is sent as typed; its 401 gets a hint in the panel.
        run(page, "query Pane { viewer { id } }", "Pane")
        wait_for_result(page, lambda r: r.get("errors"))
        page.wait_for_selector(".login-panel-notice:has-text('Headers pane')")
        assert errors == []
