from django.contrib import admin
from django.http import JsonResponse
from django.urls import path

from schema.api import schema
from schema.core.views import APIReferenceView, GraphQLView, SchemaSDLView


def health(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("graphql", GraphQLView.as_view(schema=schema), name="graphql"),
    path("graphql/", GraphQLView.as_view(schema=schema)),
    path("schema.graphql", SchemaSDLView.as_view(schema=schema), name="schema-sdl"),
    path("docs/", APIReferenceView.as_view(), name="api-reference"),
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
]
