"""`manage.py integrations_status`: the backlog per channel and what is broken."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.integrations_external.models import EmailDelivery, WebhookDelivery
from apps.integrations_external.tests.slack.factories import SlackIntegrationFactory
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)

pytestmark = pytest.mark.django_db


def _status() -> dict[str, list[str]]:
    out = StringIO()
    call_command("integrations_status", stdout=out)
    lines = out.getvalue().splitlines()
    table = lines[1 : lines.index("")] if "" in lines else lines[1:]  # one row per channel
    return {"rows": {line.split()[0]: line.split()[1:] for line in table}, "lines": lines}


def test_integrations_status_counts_due_in_flight_and_failed(user, project):
    endpoints = [WebhookEndpointFactory(owner=user) for _ in range(5)]
    ids = record_webhook_deliveries(project, user, endpoints)
    now = timezone.now()
    # Two due (the oldest for 10 minutes), one in flight, one failed 5 min ago, one 2 h ago.
    WebhookDelivery.objects.filter(pk=ids[0]).update(next_attempt_at=now - timedelta(minutes=10))
    WebhookDelivery.objects.filter(pk=ids[1]).update(next_attempt_at=now - timedelta(minutes=1))
    WebhookDelivery.objects.filter(pk=ids[2]).update(locked_until=now + timedelta(seconds=60))
    WebhookDelivery.objects.filter(pk=ids[3]).update(
        status="failed", completed_at=now - timedelta(minutes=5)
    )
    WebhookDelivery.objects.filter(pk=ids[4]).update(
        status="failed", completed_at=now - timedelta(hours=2)
    )

    status = _status()

    assert status["lines"][0].split()[:2] == ["channel", "due"]
    assert status["rows"]["webhook"] == ["2", "1", "1", "10m"]
    assert status["rows"]["email"] == ["0", "0", "0", "0s"]
    assert set(status["rows"]) == {"email", "github", "slack", "teams", "webhook"}
    assert not EmailDelivery.objects.exists()


def test_integrations_status_lists_failing_disabled_unhealthy(user):
    # given: failing and disabled endpoints, an unhealthy Slack integration
    WebhookEndpointFactory(owner=user, name="healthy one")
    WebhookEndpointFactory(
        owner=user, name="flaky", failing_since=timezone.now(), consecutive_failures=4
    )
    WebhookEndpointFactory(
        owner=user,
        name="",
        url="https://hooks.example.com/t/SECRET",
        is_active=False,
        disabled_reason="Receiver answered 410 Gone.",
    )
    SlackIntegrationFactory(owner=user, is_healthy=False, health_reason="invalid_auth")

    output = "\n".join(_status()["lines"])

    assert "flaky: failing: 4 deliveries in a row failed" in output
    assert "hooks.example.com: disabled: Receiver answered 410 Gone." in output
    assert "SECRET" not in output  # a URL's path may carry the receiver's token
    assert "unhealthy: invalid_auth" in output
    assert "healthy one" not in output


def test_integrations_status_says_nothing_is_wrong():
    output = "\n".join(_status()["lines"])

    assert "No failing endpoints or unhealthy integrations." in output
