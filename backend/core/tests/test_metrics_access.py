"""Who may read `/metrics`: loopback clients no proxy forwarded, or the bearer of METRICS_TOKEN."""

import pytest

pytestmark = pytest.mark.django_db

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


def test_metrics_loopback_gets_200_prometheus_text(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE hub_webhook_endpoints_failing gauge" in response.content


def test_metrics_ipv6_loopback_gets_200(client):
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


def test_metrics_remote_without_configured_token_is_404(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", **OUTSIDE).status_code == 404


def test_metrics_request_via_a_local_proxy_is_404(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert response.status_code == 404


def test_metrics_remote_presenting_the_token_gets_200(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token", **OUTSIDE)

    assert response.status_code == 200
    assert b"hub_delivery_oldest_due_age_seconds" in response.content


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Token s3cret-token", "Bearer "])
def test_metrics_remote_lacking_the_token_is_401(client, settings, header):
    # given: a token is configured
    settings.METRICS_TOKEN = "s3cret-token"
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}

    response = client.get("/metrics", **OUTSIDE, **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"hub_" not in response.content


def test_metrics_wrong_token_from_loopback_is_401(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer nope")

    assert response.status_code == 401


def test_metrics_post_is_405(client):
    assert client.post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405
