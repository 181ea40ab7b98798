"""The OpenAPI 3 schema and the Swagger UI, served without any CDN."""

import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

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


def test_given_the_schema_endpoint_when_fetched_then_a_valid_openapi_3_document(schema):
    validate_schema(schema)  # raises on anything the OpenAPI 3 JSON schema rejects
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"]


def test_given_the_schema_when_reading_paths_then_every_core_endpoint_and_method_is_there(schema):
    for path, methods in CORE_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), (path, set(schema["paths"][path]))


def test_given_the_schema_when_reading_security_then_token_auth_is_declared(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }


def test_given_the_complete_action_when_reading_its_schema_then_request_and_response_are_typed(
    schema,
):
    operation = schema["paths"]["/api/v1/command-executions/{id}/complete/"]["post"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = schema["components"]["schemas"][request_ref.rsplit("/", 1)[1]]
    assert request["required"] == ["exit_code"]
    response_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert response_ref.endswith("/CommandExecution")


def test_given_the_default_schema_format_when_fetched_then_it_is_yaml_that_parses(api_client):
    resp = api_client.get("/api/schema/")

    assert resp.status_code == 200
    assert yaml.safe_load(resp.content)["paths"]


def test_given_the_schema_generator_when_run_strictly_then_no_warnings(tmp_path):
    # A warning means a client generator would guess a type; keep the schema exact.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))


def test_given_the_docs_page_when_fetched_then_swagger_ui_served_locally_without_a_cdn(
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


def test_given_the_docs_assets_when_fetched_then_they_are_served(client):
    html = client.get("/api/docs/").content.decode()
    asset = re.search(r'src="(/static/drf_spectacular_sidecar/[^"]+\.js)"', html).group(1)

    resp = client.get(asset)

    assert resp.status_code == 200
