"""Fuzzing the served schema (hypothesis-graphql): no input gives an HTTP 5xx or INTERNAL_SERVER_ERROR.

Documents are generated from the schema the server serves, queries and mutations, anonymous and logged in. Each
document is sent twice: as generated (values as literals) and with every argument moved into a variable, where
strings are swapped for hostile ones (lone surrogates, NUL, megabytes, 5,000 `or` terms, invisible characters,
nested-JSON cursors, out-of-range dates): a variable reaches resolvers, a literal is checked by the parser first.

A second test sends every root field that takes arguments with all of them as variables, well-typed values and
hostile strings, so each argument of the schema is reached (random documents alone rarely hit a given one).

Bounded in time: the ``fuzz`` profile below (``FUZZ_EXAMPLES`` random documents per test, default 50;
``FUZZ_FIELD_EXAMPLES`` per root field, default 10): about a minute in all on CI's two cores. Run more locally:
``FUZZ_EXAMPLES=1000 FUZZ_FIELD_EXAMPLES=200 pytest tests/api/test_fuzz.py``.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
from django.test import Client
from graphql import (ArgumentNode, GraphQLSchema, NameNode, OperationDefinitionNode, TypeInfo, TypeInfoVisitor,
                     VariableDefinitionNode, VariableNode, Visitor, get_named_type, is_enum_type,
                     is_input_object_type, is_leaf_type, is_list_type, is_non_null_type, parse, parse_type,
                     print_ast, visit)
from graphql.utilities import value_from_ast_untyped
from graphql_jwt.shortcuts import get_token
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis_graphql import from_schema, nodes

from feed import services as feed_services
from schema.api import schema as served_schema
from schema.core.execution import graphql_schema
from users.models import User


settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "50")),
    deadline=None,  # one example is a few requests to a real database: their time varies
    derandomize=bool(os.environ.get("CI")),  # the same cases on every CI run: a failure there reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
FUZZ = settings.get_profile("fuzz")

SCHEMA: GraphQLSchema = graphql_schema(served_schema)
NESTED_CURSOR = base64.urlsafe_b64encode(b"[" * 50_000).decode()
HOSTILE = [
    "\ud800", "a\udfffb", "alice\ud83d", "\x00", "a\x00b", "x" * 200_000, " or ".join(["word"] * 5_000),
    "\u200b\u200c\u200d\u2060\ufeff", "", " ", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
    NESTED_CURSOR, "VXNlcjox", "UG9zdDotMQ==", "-1", "1e309", "%_\\", "!!! ((( & | :* <-> \\", "#" * 3000,
    "@" * 3000, "http://" + "a" * 5000, "\U0001F600" * 1000,
]
DATETIMES = st.sampled_from(["2024-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                             "2024-13-45T99:99:99Z", "not a date"]).map(lambda text: nodes.String(text))
DOCUMENTS = from_schema(SCHEMA, custom_scalars={"DateTime": DATETIMES})


def _with_variables(query: str) -> tuple[str, dict]:
    """The same document with every argument's value moved into a variable of the argument's type."""
    document = parse(query)
    type_info = TypeInfo(SCHEMA)
    definitions: list[VariableDefinitionNode] = []
    variables: dict = {}

    class ArgumentsToVariables(Visitor):
        def enter_argument(self, node, *_):
            argument = type_info.get_argument()
            if argument is None or isinstance(node.value, VariableNode):
                return None
            name = f"v{len(variables)}"
            variables[name] = value_from_ast_untyped(node.value)
            definitions.append(VariableDefinitionNode(variable=VariableNode(name=NameNode(value=name)),
                                                      type=parse_type(str(argument.type)), directives=()))
            return ArgumentNode(name=node.name, value=VariableNode(name=NameNode(value=name)))

    document = visit(document, TypeInfoVisitor(type_info, ArgumentsToVariables()))
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            definition.variable_definitions = tuple(definitions)
    return print_ast(document), variables


def _hostile(value, draw):
    """``value`` (JSON) with some of its strings swapped for hostile ones."""
    if isinstance(value, str):
        return draw(st.one_of(st.sampled_from(HOSTILE), st.sampled_from(HOSTILE), st.just(value),
                              st.text(max_size=50)))
    if isinstance(value, list):
        return [_hostile(item, draw) for item in value]
    if isinstance(value, dict):
        return {key: _hostile(item, draw) for key, item in value.items()}
    return value


def _post(client: Client, token: str | None, query: str, variables: dict | None = None):
    headers = {"HTTP_ACCEPT": "application/graphql-response+json, application/json;q=0.9"}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables or {}})
    response = client.post("/graphql", body, content_type="application/json", **headers)
    payload = json.loads(response.content or b"{}")
    payload = payload if isinstance(payload, dict) else {}
    codes = [(e.get("extensions") or {}).get("code") for e in payload.get("errors") or []]
    return response.status_code, codes, payload


def _check(client, token, query, variables=None):
    status, codes, payload = _post(client, token, query, variables)
    shown = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)[:2000]
    assert status < 500, (status, payload, shown)
    assert "INTERNAL_SERVER_ERROR" not in codes, (payload, shown)


# --- every root field, every argument a variable ------------------------------------------------------------
def _value(type_, draw, depth: int = 0):
    """A JSON value for an input type: mostly well-typed (so it reaches the resolver), strings hostile."""
    if is_non_null_type(type_):
        return _value(type_.of_type, draw, depth)
    if depth > 3 or draw(st.integers(0, 9)) == 0:
        return None
    if is_list_type(type_):
        return [_value(type_.of_type, draw, depth + 1) for _ in range(draw(st.integers(0, 3)))]
    if is_input_object_type(type_):
        return {name: _value(field.type, draw, depth + 1) for name, field in type_.fields.items()
                if is_non_null_type(field.type) or draw(st.booleans())}
    if is_enum_type(type_):
        return draw(st.sampled_from([*type_.values, "NOT_A_VALUE"]))
    name = type_.name
    if name == "Int":
        return draw(st.one_of(st.integers(-1000, 1000), st.sampled_from([2**31 - 1, -(2**31), 101, -1, 0])))
    if name == "Float":
        return draw(st.floats(allow_nan=False, allow_infinity=False))
    if name == "Boolean":
        return draw(st.booleans())
    if name == "DateTime":
        return draw(DATETIMES).value
    return draw(st.one_of(st.sampled_from(HOSTILE), st.sampled_from(HOSTILE), st.text(max_size=30)))


def _selection(type_) -> str:
    named = get_named_type(type_)
    return "" if is_leaf_type(named) else " { __typename }"


ROOT_FIELDS = [(kind, name, field) for kind, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type))
               for name, field in root.fields.items() if field.args]


def root_field_document(kind: str, name: str, field) -> str:
    arguments = list(field.args.items())
    definitions = ", ".join(f"${arg}: {argument.type}" for arg, argument in arguments)
    passed = ", ".join(f"{arg}: ${arg}" for arg, _ in arguments)
    return f"{kind}({definitions}) {{ {name}({passed}){_selection(field.type)} }}"


@pytest.fixture
def world(db):
    """Someone to be logged in as, and some data for the generated documents to reach."""
    # No passwords: Argon2 would cost half a second per user, per test (tokens need none).
    alice, bob = (User.objects.create(username=name, email=f"{name}@example.com", password="!")
                  for name in ("alice", "bob"))
    for i in range(3):
        feed_services.post_create(author=bob, body=f"post {i} #tag @alice")
    return {"anonymous": None, "alice": get_token(alice)}


@pytest.mark.parametrize("who", ["anonymous", "alice"])
@FUZZ
@given(data=st.data())
def test_no_generated_document_fails_the_server(world, who, data):
    client, token = Client(), world[who]
    query = data.draw(DOCUMENTS, label="query")
    _check(client, token, query)
    with_variables, variables = _with_variables(query)
    _check(client, token, with_variables, _hostile(variables, data.draw))


@pytest.mark.parametrize("kind, name, field", [pytest.param(*f, id=f"{f[0]}.{f[1]}") for f in ROOT_FIELDS])
@settings(FUZZ, max_examples=int(os.environ.get("FUZZ_FIELD_EXAMPLES", "10")))
@given(data=st.data())
def test_no_argument_value_fails_the_server(world, kind, name, field, data):
    """Every root field that takes arguments, each argument a variable: well-typed values, hostile strings."""
    query = root_field_document(kind, name, field)
    variables = {arg: _value(argument.type, data.draw) for arg, argument in field.args.items()}
    _check(Client(), world[data.draw(st.sampled_from(["anonymous", "alice"]))], query, variables)
