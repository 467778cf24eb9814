from django.contrib import admin
from django.urls import path

from config import ops_views
from schema.api import schema
from schema.core.views import APIReferenceView, GraphQLView, SchemaSDLView


urlpatterns = [
    path("graphql", GraphQLView.as_view(schema=schema), name="graphql"),
    path("graphql/", GraphQLView.as_view(schema=schema)),
    path("schema.graphql", SchemaSDLView.as_view(schema=schema), name="schema-sdl"),
    path("docs/", APIReferenceView.as_view(), name="api-reference"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
]

# Plain JSON error pages, never Django's debug pages (config/error_views.py).
handler400 = "config.error_views.bad_request"
handler403 = "config.error_views.permission_denied"
handler404 = "config.error_views.page_not_found"
handler500 = "config.error_views.server_error"
