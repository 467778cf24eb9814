from django.apps import AppConfig


class SchemaConfig(AppConfig):
    name = "schema"
    verbose_name = "GraphQL API"

    def ready(self):
        from .core import auth  # noqa: F401  (refresh-token rotation receiver)
