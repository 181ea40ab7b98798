"""Errors under /api/ are JSON, whatever raised them; elsewhere they stay HTML pages."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet_client() -> APIClient:
    # Answer a failing view with the 500 page, as a deployed server would, instead of raising.
    return APIClient(raise_request_exception=False)


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing/", "/api/v1/integrations-external/nope/", "/api/nope"]
)
def test_errors_unknown_api_path_is_404_json(auth_client, path):
    resp = auth_client.get(path)

    assert resp.status_code == 404
    assert resp["Content-Type"] == "application/json"
    assert resp.json() == {"detail": "Not found."}


def test_errors_unknown_path_outside_api_is_404_html(auth_client):
    resp = auth_client.get("/no-such-page/")

    assert resp.status_code == 404
    assert resp["Content-Type"].startswith("text/html")


def test_errors_unhandled_exception_in_api_is_500_json(quiet_client, settings):
    settings.ROOT_URLCONF = "tests_support.failing_urls"

    resp = quiet_client.get("/api/v1/boom/")

    assert resp.status_code == 500
    assert resp["Content-Type"] == "application/json"
    assert resp.json() == {"detail": "A server error occurred."}


def test_errors_unhandled_exception_outside_api_is_500_html(quiet_client, settings):
    settings.ROOT_URLCONF = "tests_support.failing_urls"

    resp = quiet_client.get("/boom/")

    assert resp.status_code == 500
    assert resp["Content-Type"].startswith("text/html")


def test_errors_disallowed_host_in_api_is_400_json(api_client):
    resp = api_client.get("/api/v1/projects/", HTTP_HOST="evil.example")

    assert resp.status_code == 400
    assert resp.json() == {"detail": "Bad request."}
