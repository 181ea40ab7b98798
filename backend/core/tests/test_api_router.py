"""The API's one router (core/api/routers.py) and the one mapping of errors to statuses."""

import pytest
from django.urls import reverse
from rest_framework.views import APIView

from apps.integrations_external.http.errors import (
    AuthError,
    Busy,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from core.api.exceptions import Refused, exception_handler

pytestmark = pytest.mark.django_db

INTEGRATIONS = [
    "webhooks",
    "webhook-deliveries",
    "events",
    "slack",
    "teams",
    "github",
    "email",
]
CORE = ["projects", "user-stories", "workflows", "workflow-executions", "commands"]
CORE += ["command-executions", "system-alerts"]

IE = "/api/v1/integrations-external"
# (URL name, kwargs, path): the names other code and pages reverse keep their paths.
NAMED = [
    ("project-list", {}, "/api/v1/projects/"),
    ("user-story-github", {"pk": 3}, "/api/v1/user-stories/3/github/"),
    ("user-story-create-github-issue", {"pk": 3}, "/api/v1/user-stories/3/create-github-issue/"),
    ("integrations_external:api-root", {}, f"{IE}/"),
    ("integrations_external:webhook-list", {}, f"{IE}/webhooks/"),
    ("integrations_external:github-webhook", {"pk": 5}, f"{IE}/github/5/webhook/"),
    ("integrations_external:slack-integration-verify", {"pk": 2}, f"{IE}/slack/2/verify/"),
    ("integrations_external:email-settings", {}, f"{IE}/email/"),
    ("integrations_external:email-test", {}, f"{IE}/email/test-email/"),
    ("integrations_external:email-deliveries", {}, f"{IE}/email/deliveries/"),
    ("integrations_external:email-unsubscribe", {"token": "t"}, f"{IE}/email/unsubscribe/t/"),
]


def test_api_root_lists_every_resource(auth_client):
    resp = auth_client.get("/api/v1/")

    assert resp.status_code == 200
    expected = CORE + [f"integrations-external/{name}" for name in INTEGRATIONS]
    assert sorted(resp.json()) == sorted(expected)
    assert resp.json()["integrations-external/email"].endswith("/integrations-external/email/")


def test_api_root_integrations_section_lists_its_resources(auth_client):
    resp = auth_client.get("/api/v1/integrations-external/")

    assert resp.status_code == 200
    assert sorted(resp.json()) == sorted(INTEGRATIONS)
    assert resp.json()["github"].endswith("/api/v1/integrations-external/github/")


@pytest.mark.parametrize(("name", "kwargs", "path"), NAMED)
def test_router_url_names_keep_their_paths(name, kwargs, path):
    assert reverse(name, kwargs=kwargs) == path


def test_router_singleton_has_no_detail_route(auth_client):
    assert auth_client.get("/api/v1/integrations-external/email/1/").status_code == 404
    assert auth_client.delete("/api/v1/integrations-external/email/").status_code == 405


def test_router_github_ids_are_numbers(api_client):
    # As with the `<int:pk>` routes before: not a number, no route (never a 500 in a lookup).
    resp = api_client.post("/api/v1/integrations-external/github/abc/webhook/", {})

    assert resp.status_code == 404


def _handle(exc: Exception):
    return exception_handler(exc, {"view": APIView(), "request": None})


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (RateLimited("slow down", status=429, retry_after=2.2), 429),
        (Busy("in progress", retry_after=2), 409),
        (TemporaryError("GitHub error 503", status=503), 502),
        (AuthError("Bad credentials", status=401), 400),
        (PermanentError("refused", status=422), 400),
    ],
)
def test_exception_handler_maps_integration_errors(exc, status):
    resp = _handle(exc)

    assert resp.status_code == status
    assert resp.data == {"detail": str(exc), "github_status": exc.status}


def test_exception_handler_retry_after_rounds_up():
    resp = _handle(RateLimited("slow down", retry_after=2.2))

    assert resp["Retry-After"] == "3"


def test_exception_handler_refused_is_400_with_detail():
    resp = _handle(Refused("Add an address first."))

    assert resp.status_code == 400
    assert resp.data == {"detail": "Add an address first."}
