"""The hosted API reference (/docs/, SpectaQL output committed under schema/static/docs) is current, served,
and linked from GraphiQL; the SDL download too."""

import hashlib
import re
from pathlib import Path

import pytest
from django.test import Client
from graphql import build_schema

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "schema" / "static" / "docs"
# Keep in step with tools/apidocs/generate.sh.
INPUTS = ["schema/schema.graphql", "tools/apidocs/spectaql.yml", "tools/apidocs/package-lock.json",
          "tools/apidocs/seeded-random.cjs"]


def test_the_reference_was_generated_from_the_current_schema_and_config():
    digest = hashlib.sha256(b"".join((ROOT / path).read_bytes() for path in INPUTS)).hexdigest()
    recorded = re.search(r"^inputs-sha256: ([0-9a-f]{64})$", (DOCS / "SOURCE.txt").read_text(), re.M)
    assert recorded and recorded.group(1) == digest, (
        "schema/static/docs is stale: run `make docs` (schema/schema.graphql or tools/apidocs changed)")


def test_every_root_field_is_in_the_reference():
    html = (DOCS / "index.html").read_text()
    schema = build_schema((ROOT / "schema" / "schema.graphql").read_text())
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        for field in root.fields:
            assert f'id="{root.name.lower()}-{field}"' in html, f"{root.name}.{field} missing from the reference"


@pytest.mark.django_db
def test_the_reference_is_served_at_docs_and_linked_from_graphiql():
    client = Client()
    response = client.get("/docs/")
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert b"Social feed GraphQL API" in response.content
    assert client.get("/docs/", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert client.get("/docs")["Location"] == "/docs/"
    graphiql = client.get("/graphql", HTTP_ACCEPT="text/html").content.decode()
    assert 'href="/docs/"' in graphiql and 'href="/schema.graphql"' in graphiql
    assert "/docs/" in (ROOT / "README.md").read_text()
