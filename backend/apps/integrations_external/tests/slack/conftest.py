"""Fixtures of the Slack tests: a fake Slack Web API on loopback, and an integration on it."""

from __future__ import annotations

import pytest
from django.utils import timezone
from time_machine import TimeMachineFixture

from apps.integrations_external.models import SlackDelivery
from apps.integrations_external.tests.slack.factories import BOT_TOKEN, SlackIntegrationFactory
from tests_support.clock import deliver_when_due
from tests_support.fake_slack import FakeSlack, fake_slack  # noqa: F401 - the fixture


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:  # noqa: F811
    """A workspace where BOT_TOKEN is valid and the bot is in #builds (C0BUILDS01)."""
    fake_slack.add_token(BOT_TOKEN, team="Acme", user="buildbot")
    fake_slack.add_channel("C0BUILDS01", "builds")
    return fake_slack


@pytest.fixture
def integration(user, slack):
    return SlackIntegrationFactory(owner=user)


def run_when_due(delivery: SlackDelivery, clock: TimeMachineFixture, max_wait: float = 5.0) -> None:
    """Eager Celery cannot wait for a countdown: move the clock to when the delivery is due
    (at most `max_wait` ahead), then run it."""
    delivery.refresh_from_db()
    wait = (
        (delivery.next_attempt_at - timezone.now()).total_seconds()
        if delivery.next_attempt_at
        else 0
    )
    assert wait <= max_wait, f"next attempt in {wait:.1f}s"
    deliver_when_due("slack", delivery, clock)
