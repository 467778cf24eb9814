"""The GraphQL over HTTP spec: graphql-http's audit (npm graphql-http, auditServer) against a live server."""

import pytest

from tests.support.live_server import daphne  # noqa: F401 - fixture
from tests.support.node import run_node

pytestmark = [pytest.mark.live, pytest.mark.slow]


def test_graphql_http_audit_passes_every_check(daphne):  # noqa: F811
    server = daphne()
    report = run_node("audit.mjs", f"{server.http}/graphql")
    print(f"graphql-http audit: {report['ok']} ok, {report['warn']} warn, {report['notice']} notice, "
          f"{report['error']} error (of {report['total']})")
    assert report["problems"] == []
    assert (report["ok"], report["warn"], report["notice"], report["error"]) == (61, 0, 0, 0)
