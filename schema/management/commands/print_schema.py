"""Writes the served GraphQL schema (SDL) to schema/schema.graphql, or checks it is current."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from graphql import print_schema


def printed_schema() -> str:
    from schema.api import schema

    return print_schema(schema.graphql_schema) + "\n"


class Command(BaseCommand):
    help = "Prints the GraphQL schema to schema/schema.graphql (--check: fail if that file is stale)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=settings.GRAPHENE["SCHEMA_OUTPUT"])
        parser.add_argument("--check", action="store_true", help="Exit 1 if the file differs from the code.")

    def handle(self, *args, out, check, **options):
        path = Path(out)
        text = printed_schema()
        if check:
            if not path.exists() or path.read_text() != text:
                raise CommandError(f"{path} is stale: run `make schema`.")
            self.stdout.write(f"{path} is current.")
            return
        path.write_text(text)
        self.stdout.write(f"Wrote {path}.")
