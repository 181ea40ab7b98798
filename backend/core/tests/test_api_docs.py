"""The OpenAPI 3 schema and the Swagger UI, served without any CDN."""

import re
from importlib import import_module

import pytest
import yaml
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from core.api.routers import APIRouter

pytestmark = pytest.mark.django_db

CORE_APPS = ["projects", "workflows", "commands", "alerts"]
CORE_PATHS = {
    "/api/v1/projects/": {"get", "post"},
    "/api/v1/projects/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/user-stories/": {"get", "post"},
    "/api/v1/workflows/": {"get", "post"},
    "/api/v1/workflows/{id}/execute/": {"post"},
    "/api/v1/workflow-executions/": {"get"},
    "/api/v1/workflow-executions/{id}/complete/": {"post"},
    "/api/v1/workflow-executions/{id}/fail/": {"post"},
    "/api/v1/workflow-executions/{id}/cancel/": {"post"},
    "/api/v1/commands/": {"get", "post"},
    "/api/v1/commands/{id}/execute/": {"post"},
    "/api/v1/command-executions/": {"get"},
    "/api/v1/command-executions/{id}/complete/": {"post"},
    "/api/v1/system-alerts/": {"get", "post"},
}


@pytest.fixture
def schema(api_client) -> dict:
    resp = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert resp.status_code == 200
    return resp.json()


def test_schema_endpoint_serves_valid_openapi_3(schema):
    validate_schema(schema)  # raises on anything the OpenAPI 3 JSON schema rejects
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"]


def test_schema_paths_list_every_core_endpoint_and_method(schema):
    for url, methods in CORE_PATHS.items():
        assert url in schema["paths"], url
        assert methods <= set(schema["paths"][url]), (url, set(schema["paths"][url]))


def test_schema_declares_token_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }


def test_schema_complete_action_has_typed_request_and_response(
    schema,
):
    operation = schema["paths"]["/api/v1/command-executions/{id}/complete/"]["post"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = schema["components"]["schemas"][request_ref.rsplit("/", 1)[1]]
    assert request["required"] == ["exit_code"]
    response_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert response_ref.endswith("/CommandExecution")


def test_schema_default_format_is_yaml_that_parses(api_client):
    resp = api_client.get("/api/schema/")

    assert resp.status_code == 200
    assert yaml.safe_load(resp.content)["paths"]


def test_schema_of_core_api_generates_without_warnings():
    # A warning means a client generator would have to guess a type: the core API stays exact.
    # (Scoped to the core apps; the integrations' views are checked by their own tests.)
    router = APIRouter()
    for app in CORE_APPS:
        for prefix, viewset, basename in import_module(f"apps.{app}.urls").routes:
            router.register(prefix, viewset, basename)
    patterns = [path("api/v1/", include(router.urls))]
    GENERATOR_STATS.reset()
    try:
        schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
        problems = {**GENERATOR_STATS._warn_cache, **GENERATOR_STATS._error_cache}
    finally:
        GENERATOR_STATS.reset()

    assert problems == {}
    validate_schema(schema)
    assert set(CORE_PATHS) <= set(schema["paths"])


def test_docs_page_serves_swagger_ui_locally_without_cdn(
    api_client,
):
    resp = api_client.get("/api/docs/")

    assert resp.status_code == 200
    html = resp.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    external = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
    assert external == []
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_docs_assets_are_served(client):
    html = client.get("/api/docs/").content.decode()
    asset = re.search(r'src="(/static/drf_spectacular_sidecar/[^"]+\.js)"', html).group(1)

    resp = client.get(asset)

    assert resp.status_code == 200
