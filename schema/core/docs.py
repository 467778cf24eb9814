"""Descriptions for schema parts that third-party classes build without one (django-graphql-jwt's)."""

from __future__ import annotations


def apply_descriptions(graphql_schema, descriptions: dict[str, str]) -> None:
    """Keys: "Type", "Type.field" or "Type.field(argument)"; unknown keys raise, so docs cannot rot."""
    for key, text in descriptions.items():
        type_name, _, rest = key.partition(".")
        graphql_type = graphql_schema.get_type(type_name)
        if graphql_type is None:
            raise KeyError(key)
        if not rest:
            graphql_type.description = text
            continue
        field_name, _, arg = rest.partition("(")
        field = graphql_type.fields[field_name]
        if arg:
            field.args[arg.rstrip(")")].description = text
        else:
            field.description = text
