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
from tests.conftest import GraphQLClient, make_user
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
