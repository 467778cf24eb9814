"""Global ids (Relay): every object with an identity implements Node."""

from __future__ import annotations

import binascii
from base64 import b64encode

import graphene
from django.core.exceptions import ValidationError
from graphene import relay
from graphql_relay import from_global_id, to_global_id

from .errors import BadUserInput
from .loaders import Loader


def parse_global_id(value: str, expected_type: str | None = None) -> tuple[str, int] | None:
    """(type name, pk) of a global id; None when it is malformed or of another type."""
    try:
        type_name, raw = from_global_id(value)
        pk = int(raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    if pk <= 0 or pk > 2**63 - 1 or (expected_type and type_name != expected_type):
        return None
    return type_name, pk


def decode_id(value: str, expected_type: str, field: str) -> int:
    """The pk behind an input's global id; a NOT_FOUND UserError on ``field`` otherwise."""
    parsed = parse_global_id(value, expected_type)
    if parsed is None:
        raise ValidationError({field: ValidationError(f"No {expected_type} has this id.", code="not_found")})
    return parsed[1]


def global_id(type_name: str, pk) -> str:
    """graphql_relay's ``to_global_id`` (base64 of "Type:pk"), in one step for an integer pk."""
    if type(pk) is int:
        return b64encode(f"{type_name}:{pk}".encode()).decode()
    return to_global_id(type_name, pk)


class _NodesById(Loader):
    """Objects of any Node type by (graphene type, pk): `node` and `nodes` in one query per type."""

    def batch(self, keys):
        by_type: dict = {}
        for graphene_type, pk in keys:
            by_type.setdefault(graphene_type, []).append(pk)
        found = {}
        for graphene_type, pks in by_type.items():
            model = graphene_type._meta.model
            queryset = graphene_type.get_queryset(model._default_manager.all(), self.context)
            for obj in queryset.filter(pk__in=pks):
                found[(graphene_type, obj.pk)] = obj
        return [found.get(key) for key in keys]


def _node_type(info, type_name: str):
    """The graphene type behind a global id's type name in the executing schema, if it is a model Node."""
    graphene_type = getattr(info.schema.get_type(type_name), "graphene_type", None)
    if graphene_type is None or relay.Node not in getattr(graphene_type._meta, "interfaces", ()):
        return None
    if getattr(graphene_type._meta, "model", None) is None:
        return None
    return graphene_type


def load_node(info, value: str):
    parsed = parse_global_id(value)
    if parsed is None:
        return None
    graphene_type = _node_type(info, parsed[0])
    if graphene_type is None:
        return None
    return _NodesById.of(info).load((graphene_type, parsed[1]))


class NodeQueries(graphene.ObjectType):
    node = graphene.Field(
        relay.Node,
        id=graphene.ID(required=True, description="The global id."),
        description="Fetches any object by its global id; null when it does not exist.",
    )
    nodes = graphene.Field(
        graphene.NonNull(graphene.List(relay.Node)),
        ids=graphene.List(graphene.NonNull(graphene.ID), required=True, description="Global ids (at most 100)."),
        description="Fetches several objects by global id, in order; null for each missing one.",
    )

    @staticmethod
    def resolve_node(root, info, id):
        return load_node(info, id)

    @staticmethod
    def resolve_nodes(root, info, ids):
        if len(ids) > 100:
            raise BadUserInput("At most 100 ids at once.", argument="ids")
        return [load_node(info, value) for value in ids]
