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


def test_given_due_in_flight_and_failed_deliveries_when_run_then_each_channel_shows_its_counts(
    user, project
):
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


def test_given_failing_and_disabled_endpoints_and_unhealthy_slack_when_run_then_listed(user):
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


def test_given_nothing_wrong_when_run_then_says_so():
    output = "\n".join(_status()["lines"])

    assert "No failing endpoints or unhealthy integrations." in output
