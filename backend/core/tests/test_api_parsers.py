"""JSON request bodies nested deeper than the documented limit are a 400, not a 500."""

import json

import pytest

from apps.workflows.models import Workflow
from core.api.parsers import MAX_JSON_DEPTH, json_depth_exceeds

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/integrations-external/events/"


def nested(depth: int) -> dict:
    """An object `depth` levels deep: {"a": {"a": … {}}}."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def post_raw(client, path: str, body: str):
    return client.generic("POST", path, body, content_type="application/json")


def test_parser_5000_deep_workflow_json_is_400(auth_client, project):
    definition = "[" * 5000 + "]" * 5000
    body = f'{{"project": {project.pk}, "name": "w", "definition": {definition}}}'

    resp = post_raw(auth_client, "/api/v1/workflows/", body)

    assert resp.status_code == 400
    assert f"deeper than {MAX_JSON_DEPTH} levels" in resp.json()["detail"]
    assert not Workflow.objects.exists()


def test_parser_3000_deep_event_data_is_400(auth_client):
    data = '{"a":' * 3000 + "1" + "}" * 3000
    body = f'{{"type": "deploy.finished", "data": {data}}}'

    resp = post_raw(auth_client, EVENTS, body)

    assert resp.status_code == 400
    assert "deeper than" in resp.json()["detail"]


def test_parser_unclosed_deep_json_is_400(auth_client):
    resp = post_raw(auth_client, "/api/v1/workflows/", "[" * 100_000)

    assert resp.status_code == 400


def test_parser_json_at_the_depth_limit_is_accepted(auth_client, project):
    # The request body itself is the outermost level.
    definition = nested(MAX_JSON_DEPTH - 1)

    resp = auth_client.post(
        "/api/v1/workflows/",
        {"project": project.pk, "name": "deep", "definition": definition},
        format="json",
    )

    assert resp.status_code == 201, resp.data
    assert Workflow.objects.get().definition == definition


def test_parser_json_one_level_over_the_limit_is_400(auth_client, project):
    resp = auth_client.post(
        "/api/v1/workflows/",
        {"project": project.pk, "name": "deep", "definition": nested(MAX_JSON_DEPTH)},
        format="json",
    )

    assert resp.status_code == 400


def test_parser_brackets_inside_strings_do_not_count():
    text = json.dumps({"s": "[" * 1000 + '\\"{' * 500, "t": ["]]]"]})

    assert not json_depth_exceeds(text.encode())
