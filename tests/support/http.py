"""Helpers of the GraphQL-over-HTTP tests: requests with a chosen Accept and token, and what came back."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from schema.core import persisted

GR = "application/graphql-response+json"
JSON = "application/json"


def post(body, *, accept: str | None = None, token: str | None = None, authorization: str | None = None,
         client: Client | None = None):
    headers = {}
    if accept is not None:
        headers["HTTP_ACCEPT"] = accept
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    text = body if isinstance(body, str) else json.dumps(body)
    return (client or Client()).post("/graphql", text, content_type="application/json", **headers)


def get(params: dict, *, accept: str = JSON, **headers):
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return Client().get("/graphql", encoded, HTTP_ACCEPT=accept, **headers)


def body(response):
    return json.loads(response.content)


def codes(payload: dict) -> list:
    return [e.get("extensions", {}).get("code") for e in payload.get("errors") or []]


@pytest.fixture(autouse=True)
def fresh_apq_memory():
    """Each test starts with an empty in-process APQ memory (import it into a module to use it)."""
    persisted.apq_store.clear_memory()
    yield
    persisted.apq_store.clear_memory()
