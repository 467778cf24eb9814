"""A request leaves no cyclic garbage: everything it made is freed by reference counting when the response is
sent, so Python's cyclic collector has nothing to find (each collection that finds a page's loaders and model
instances costs tens of milliseconds; config/tuning.py). Through Django's WSGI handler, as a server calls it
(the test client keeps responses and requests in cycles of its own)."""

from __future__ import annotations

import gc
import io
import json

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from graphql_jwt.shortcuts import get_token

from tests.perf.test_query_counts import FEED_PAGE, NEWEST_POSTS, feed_viewer  # noqa: F401 - the fixture


def _call(handler, document: str, token: str | None = None) -> bytes:
    body = json.dumps({"query": document, "variables": {"first": 20}}).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/graphql", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
               "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
               "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "testserver"}
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    statuses = []
    # As Django's test client does: the test's transaction stays open across the request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        response = handler(environ, lambda status, headers, *rest: statuses.append(status))
        content = b"".join(response)
        response.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    assert statuses == ["200 OK"] and b'"errors"' not in content, content[:500]
    return content


@pytest.mark.parametrize("page", ["newest posts", "feed page"])
def test_a_page_request_leaves_no_cycles_for_the_collector(page, feed_viewer):  # noqa: F811
    handler = WSGIHandler()
    document, token = (NEWEST_POSTS, None) if page == "newest posts" else (FEED_PAGE, get_token(feed_viewer))
    _call(handler, document, token)  # warm: plans, caches, connections
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            _call(handler, document, token)
        gc.collect()
        garbage = [type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert garbage == [], sorted(set(garbage))
