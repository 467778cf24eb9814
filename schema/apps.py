from django.apps import AppConfig
from django.core import checks


@checks.register(checks.Tags.compatibility)
def trusted_documents_check(app_configs=None, **kwargs):
    """GRAPHQL_TRUSTED_DOCUMENTS: the manifest loads and each document validates (`manage.py check`, migrate)."""
    from .api import schema
    from .core.persisted import check_trusted_documents

    return [checks.Error(problem, id="schema.E001") for problem in check_trusted_documents(schema)]


class SchemaConfig(AppConfig):
    name = "schema"
    verbose_name = "GraphQL API"

    def ready(self):
        from .core import auth  # noqa: F401  (refresh-token rotation receiver)
